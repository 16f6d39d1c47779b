"""What clients send about a job, validated against `shared/` and the template table: the render
options, free-form metadata, the source, the true/false words."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from shared.colors import parse_color_list
from shared.contracts import normalize_background
from shared.errors import InvalidInput
from shared.job_colors import MAX_COLORS
from shared.jobs import JobSource
from shared.quality import DEFAULT_QUALITY, get_quality
from shared.validation import check_safe_id

from ..config import parse_flag
from ..errors import BadRequest
from ..models import RenderJob, RenderTemplate
from .templates import resolve_template

MAX_METADATA_BYTES = 16 * 1024


def parse_bool(name: str, value: Any) -> bool:
    flag = parse_flag(value)
    if flag is None:
        raise InvalidInput(f"{name} must be true or false, not {value!r}.")
    return flag


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value


def _not_json(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def loads(text: str | bytes) -> Any:
    """JSON as clients may send it, or ValueError: no NaN or Infinity (Python's parser takes
    them, but they are not JSON: answers would carry them and PostgreSQL refuses them), and no
    nesting so deep that it exhausts the parser."""
    try:
        return json.loads(text, parse_constant=_not_json, parse_float=_finite)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def parse_metadata(value: Any) -> dict[str, Any]:
    """Free-form client data: a JSON object (or its text), kept small."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = loads(value)
        except ValueError:  # JSONDecodeError too
            raise InvalidInput("metadata must be a JSON object.") from None
    if not isinstance(value, dict):
        raise InvalidInput("metadata must be a JSON object.")
    if len(json.dumps(value)) > MAX_METADATA_BYTES:
        raise InvalidInput(f"metadata is larger than {MAX_METADATA_BYTES // 1024} KB.")
    return value


@dataclass(frozen=True)
class JobOptions:
    """How to render a job's prints (`jobs.prints`), validated against `shared/` and the
    template table."""

    #: The shirt colour; with several, the first of `colors`.
    color: str
    template_id: str
    quality: str = DEFAULT_QUALITY
    animation: bool = True
    background: str = "transparent"
    metadata: dict[str, Any] = field(default_factory=dict)
    #: Every colour of a several-colour job, `color` first; empty for one colour.
    colors: tuple[str, ...] = ()


def parse_colors(values: Mapping[str, Any]) -> tuple[str, ...]:
    """`color` as one colour, a comma list or a repeated form field (a JSON list too), as hex:
    duplicates dropped, at most `MAX_COLORS`."""
    getlist = getattr(values, "getlist", None)
    raw = getlist("color") if getlist is not None else values.get("color")
    items = raw if isinstance(raw, list | tuple) else [raw]
    if not all(isinstance(item, str) for item in items):
        raise InvalidInput("color must be a colour, a comma list of colours or a list of them.",
                           code="invalid_color")
    if not items:
        raise InvalidInput("Give at least one colour.", code="invalid_color")
    colors = tuple(dict.fromkeys(c.hex for item in items for c in parse_color_list(item)))
    if len(colors) > MAX_COLORS:
        raise InvalidInput(f"{len(colors)} colours asked for; one job renders at most "
                           f"{MAX_COLORS}.", code="invalid_color")
    return colors


def parse_options(session: Session, values: Mapping[str, Any], presets: Sequence[str],
                  base: JobOptions | None = None) -> JobOptions:
    """Options from request fields for a job that prints at `presets` (each checked against
    the template); with `base`, fields left out keep the base's values."""

    def given(name: str) -> bool:
        return values.get(name) not in (None, "")

    if base is None and not given("color"):
        raise BadRequest("The field 'color' is required.")
    colors = (parse_colors(values) if given("color")
              else base.colors or (base.color,))  # type: ignore[union-attr]
    quality = (get_quality(values["quality"]).name if given("quality")
               else base.quality if base else DEFAULT_QUALITY)
    animation = (parse_bool("animation", values["animation"]) if given("animation")
                 else base.animation if base else True)
    background = (normalize_background(values["background"]) if given("background")
                  else base.background if base else "transparent")
    if len(background) > 16:
        raise InvalidInput("background is too long.")
    metadata = (parse_metadata(values.get("metadata")) if given("metadata")
                else dict(base.metadata) if base else {})
    template_id = None
    if given("template_id"):
        template_id = check_safe_id(values["template_id"], "template id")
    elif base is not None:
        template_id = base.template_id
    template = _template_for(session, template_id, presets)
    return JobOptions(color=colors[0], template_id=template.id, quality=quality,
                      animation=animation, background=background, metadata=metadata,
                      colors=colors if len(colors) > 1 else ())


def _template_for(session: Session, template_id: str | None,
                  presets: Sequence[str]) -> RenderTemplate:
    """The active template, checked against every print's preset (naming the print when
    there are several)."""
    template = None
    for index, preset in enumerate(presets, start=1):
        try:
            template = resolve_template(session, template_id, preset)
        except InvalidInput as error:
            if len(presets) == 1 or error.code != "unknown_preset":
                raise
            raise InvalidInput(f"Print {index}: {error.message}", code=error.code) from None
    if template is None:
        raise InvalidInput("A job prints at least one design.", code="invalid_spec")
    return template


def parse_source(value: Any) -> JobSource:
    if value in (None, ""):
        return JobSource.API
    try:
        return JobSource(str(value))
    except ValueError:
        raise InvalidInput(
            f"Unknown source {value!r}; use one of: {', '.join(JobSource)}."
        ) from None


def options_of(job: RenderJob) -> JobOptions:
    return JobOptions(color=job.color, template_id=job.template_id,
                      quality=job.quality, animation=job.animation, background=job.background,
                      metadata=dict(job.meta or {}), colors=tuple(job.colors or ()))

