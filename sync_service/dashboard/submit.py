"""The submit form: one design, one placement, one or more shirt colours; one job per colour,
each made and queued as the API makes and queues its jobs (`jobs.prints`, `jobs.forms`,
`jobs.commands`).

Everything is checked before anything is stored, so a bad colour or an unsupported placement
creates no job at all.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage, MultiDict

from shared.colors import Color, parse_color_list
from shared.errors import InvalidInput
from shared.validation import check_safe_id

from ..errors import BadRequest
from ..jobs import commands, forms, prints
from ..models import RenderJob

#: More colours than a shop sells one design in is a typo, not a plan.
MAX_COLORS = 12


def chosen_colors(form: MultiDict[str, str]) -> tuple[Color, ...]:
    """The ticked swatches plus the typed list (`navy, #c8102e`), duplicates dropped."""
    parts = [*form.getlist("color"), form.get("more_colors", "")]
    text = ",".join(part for part in parts if part.strip())
    if not text:
        raise InvalidInput("Choose at least one shirt colour.", code="invalid_color")
    colors = parse_color_list(text)
    if len(colors) > MAX_COLORS:
        raise InvalidInput(f"Choose at most {MAX_COLORS} colours at once.", code="invalid_color")
    return colors


def submit_jobs(session: Session, service: Any, form: MultiDict[str, str],
                upload: FileStorage | None) -> list[RenderJob]:
    """Validate the form and the design, then create and queue a job per colour."""
    product_id = form.get("product_id", "").strip()
    if not product_id:
        raise BadRequest("Give the id of the store product these renders are for.")
    check_safe_id(product_id, "product id")
    colors = chosen_colors(form)
    if upload is None or not upload.filename:
        raise BadRequest("Choose a design file (PNG or JPEG).")
    service.check_product(product_id)  # with a store configured, it must have the product
    files = {prints.DESIGN_PART: upload}
    wanted = prints.requested_prints({"preset": form.get("preset", "")}, files)
    fields = {"template_id": form.get("template_id", ""), "quality": form.get("quality", ""),
              "background": form.get("background", ""),
              "animation": "true" if form.get("animation") else "false"}
    options = [forms.parse_options(session, {**fields, "color": color.hex},
                                   [spec.preset for spec in wanted]) for color in colors]
    job_prints = prints.checked_prints(wanted, files)
    jobs = [commands.create_job(session, service.storage, product_id=product_id, options=option,
                                prints=job_prints, store_configured=service.push is not None)
            for option in options]
    for job in jobs:
        service.enqueue(job.id)
    return jobs
