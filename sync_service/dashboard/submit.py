"""The submit form: one job with every chosen colour and every print row, made exactly as
`POST /admin/render-jobs` makes one (`jobs.commands.create_requested`). The form's fields are
turned into the API's: the ticked and typed colours into one comma list `color`, the rows into
a `prints` JSON list whose prints name their file parts (`print 1`, `print 2`, ...).

Everything is checked before anything is stored, so a bad colour, an unsupported placement or a
print that leaves its printable area creates no job at all.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from itertools import zip_longest
from typing import Any

from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage, MultiDict

from shared.errors import InvalidInput

from ..errors import BadRequest
from ..jobs import commands
from ..models import RenderJob

#: A row's fields as the form names them, and the default of each (a new row's values).
ROW_DEFAULTS = {"preset": "chest-medium", "offset_x_cm": "0", "offset_y_cm": "0",
                "scale": "1", "rotation_deg": "0"}
_NUMBER_WORDS = {"offset_x_cm": "offset across", "offset_y_cm": "offset down",
                 "scale": "scale", "rotation_deg": "rotation"}
#: The fields of the form that the API reads as they are.
_PLAIN_FIELDS = ("product_id", "template_id", "quality", "background")


@dataclass(frozen=True)
class PrintRow:
    """One print row of the form, as typed (a refused form shows it again)."""

    preset: str
    offset_x_cm: str
    offset_y_cm: str
    scale: str
    rotation_deg: str


def print_rows(form: MultiDict[str, str]) -> list[PrintRow]:
    """The rows the form posted, in order (at least one); a field a row left empty is its
    default."""
    columns = [form.getlist(name) for name in ROW_DEFAULTS]
    count = max(1, *(len(column) for column in columns))
    return [PrintRow(*(column[index] if index < len(column) and column[index] else default
                       for column, default in zip(columns, ROW_DEFAULTS.values(), strict=True)))
            for index in range(count)]


def _number(row: PrintRow, field: str, position: int, count: int) -> float:
    text = getattr(row, field).strip()
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        where = f"Print {position}: the" if count > 1 else "The"
        raise InvalidInput(f"{where} {_NUMBER_WORDS[field]} must be a number, not {text!r}.",
                           code="invalid_spec")
    return value


def _colors(form: MultiDict[str, str]) -> str:
    """The ticked swatches plus the typed list (`navy, #c8102e`) as the API's comma list."""
    parts = [*form.getlist("color"), form.get("more_colors", "")]
    text = ",".join(part for part in parts if part.strip())
    if not text:
        raise InvalidInput("Choose at least one shirt colour.", code="invalid_color")
    return text


def api_request(form: MultiDict[str, str], uploads: list[FileStorage]
                ) -> tuple[dict[str, str], dict[str, FileStorage]]:
    """The form as the API's create request: its fields and its file parts. The form's own
    rules (a product id, a colour, a design in every row) are said in the form's words."""
    if not form.get("product_id", "").strip():
        raise BadRequest("Give the id of the store product these renders are for.")
    rows = print_rows(form)
    files: dict[str, FileStorage] = {}
    items = []
    for position, (row, upload) in enumerate(zip_longest(rows, uploads[:len(rows)]), start=1):
        where = f"Print {position}: c" if len(rows) > 1 else "C"
        if upload is None or not upload.filename:
            raise BadRequest(f"{where}hoose a design file (PNG or JPEG).")
        part = f"print {position}"
        files[part] = upload
        items.append({"file": part, "preset": row.preset,
                      "offset_cm": [_number(row, "offset_x_cm", position, len(rows)),
                                    _number(row, "offset_y_cm", position, len(rows))],
                      "scale": _number(row, "scale", position, len(rows)),
                      "rotation_deg": _number(row, "rotation_deg", position, len(rows))})
    fields = {name: form.get(name, "").strip() for name in _PLAIN_FIELDS}
    fields.update(color=_colors(form), prints=json.dumps(items),
                  animation="true" if form.get("animation") else "false")
    return fields, files


def submit_job(session: Session, service: Any, form: MultiDict[str, str],
               uploads: list[FileStorage]) -> RenderJob:
    """Validate the form, its colours and every print, then create and queue the one job."""
    fields, files = api_request(form, uploads)
    made = commands.create_requested(session, service.storage, fields, files,
                                     check_product=service.check_product,
                                     store_configured=service.push is not None)
    service.enqueue(made.job.id)
    return made.job
