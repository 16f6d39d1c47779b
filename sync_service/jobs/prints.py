"""A job's prints (issue 16): what a create request asks to print, each design checked as any
upload, each print placed on the reference shirt (`shared.prints`) and refused when it leaves
its side's printable area; a stored job's prints read back for a retry; and how sharp each
prints at its final size.

A request asks in one of two shapes: version 1's one file part `design` at the field `preset`,
or a field `prints`, a JSON list of `{"file": <file part name>, "preset", "offset_cm": [x, y],
"scale", "rotation_deg"}` whose file parts may have any names (one part may serve several
prints). Nothing here stores anything, so a request refused for any print leaves no file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared.errors import InvalidInput
from shared.presets import get_preset
from shared.prints import PlacedPrint, PrintSpec, fit_print, parse_prints, place_prints
from shared.spec_fields import check_fields, spec_error, typed
from shared.validation import MAX_DESIGN_BYTES, DesignInfo

from ..errors import BadRequest
from ..models import RenderJob, RenderJobPrint
from .forms import loads
from .uploads import check_design

PRINTS_FIELD = "prints"
#: The one file part of a version-1 request.
DESIGN_PART = "design"
_PRINT_FIELDS = {"file", "preset", "offset_cm", "scale", "rotation_deg"}


@dataclass(frozen=True)
class Design:
    """A design file of a new job: what checking it found, the name to show, and its bytes
    (an upload) or where another job stores it (a retry copies it)."""

    info: DesignInfo
    name: str
    data: bytes | None = None
    stored: str | None = None


@dataclass(frozen=True)
class JobPrint:
    """One print of a new job: where it goes (its `spec.design` is only a label) and its
    design."""

    spec: PrintSpec
    design: Design


def requested_prints(form: Mapping[str, Any], files: Mapping[str, Any]
                     ) -> tuple[PrintSpec, ...]:
    """The prints a create request asks for, in order, each naming its file part in
    `spec.design`. Reads no file."""
    text = form.get(PRINTS_FIELD)
    if text in (None, ""):
        if files.get(DESIGN_PART) is None:
            raise BadRequest("Send the design as a multipart file field named 'design', or "
                             "several designs with a 'prints' field that names them.")
        if not form.get("preset"):
            raise BadRequest("The field 'preset' is required.")
        return (PrintSpec(design=DESIGN_PART, preset=get_preset(form["preset"]).id),)
    if form.get("preset"):
        raise spec_error("A request gives either 'prints' or 'preset', not both.")
    try:
        items = loads(text)
    except ValueError:
        raise spec_error("The field 'prints' must be a JSON list of prints.") from None
    if isinstance(items, list):
        items = [_as_spec_print(item, f"print {index}")
                 for index, item in enumerate(items, start=1)]
    return parse_prints("request", items)


def _as_spec_print(item: object, what: str) -> dict[str, Any]:
    """A request's print as `PrintSpec.from_dict` reads one: its `file` in `design`."""
    values = check_fields(what, item, _PRINT_FIELDS, {"file", "preset"})
    part = typed(what, "file", values.pop("file"), str)
    return {**values, "design": part}


def checked_prints(specs: Sequence[PrintSpec], files: Mapping[str, Any]) -> list[JobPrint]:
    """Each print with its design, placed: every part a print names read and checked once (type
    by content, size, pixels, that it decodes), then every print fitted to its design and
    refused when it leaves its printable area. A part that no print names is refused."""
    names = list(dict.fromkeys(spec.design for spec in specs))
    unused = sorted(set(files) - set(names))
    if unused:
        raise InvalidInput(f"The file part {unused[0]!r} is not named by any print.")
    designs: dict[str, Design] = {}
    for name in names:
        upload = files.get(name)
        if upload is None:
            raise BadRequest(f"A print names the file part {name!r}, which the request "
                             f"does not have.")
        data = upload.stream.read(MAX_DESIGN_BYTES + 1)
        try:
            info = check_design(data)
        except InvalidInput as error:
            if len(names) == 1:
                raise
            raise type(error)(f"Design {name!r}: {error.message}", code=error.code) from None
        designs[name] = Design(info=info, name=upload.filename or name, data=data)
    prints = [JobPrint(spec, designs[spec.design]) for spec in specs]
    place(prints)
    return prints


def place(prints: Sequence[JobPrint]) -> list[PlacedPrint]:
    """Fit each print to its design; refuse one that leaves its side's printable area
    (`print_out_of_area`, naming the print and by how many cm)."""
    return place_prints(tuple(p.spec for p in prints),
                        [(p.design.info.width, p.design.info.height) for p in prints])


def with_first_preset(prints: Sequence[JobPrint], preset: str | None) -> list[JobPrint]:
    """`prints` with the first one moved to `preset` (a retry's override; the job's own
    `preset` is its first print's), placed again; unchanged without one."""
    if preset in (None, ""):
        return list(prints)
    first = prints[0]
    spec = PrintSpec(design=first.spec.design, preset=get_preset(preset).id,
                     offset_cm=first.spec.offset_cm, scale=first.spec.scale,
                     rotation_deg=first.spec.rotation_deg)
    moved = [JobPrint(spec, first.design), *prints[1:]]
    place(moved)
    return moved


# -- stored prints -----------------------------------------------------------------------------


def spec_of(row: RenderJobPrint | Any, design: str) -> PrintSpec:
    """A stored print (a mapped object or a Core row) as a spec's print of `design`."""
    return PrintSpec(design=design, preset=row.preset,
                     offset_cm=(row.offset_x_cm, row.offset_y_cm), scale=row.scale,
                     rotation_deg=row.rotation_deg)


def stored_prints(job: RenderJob) -> list[JobPrint]:
    """A job's prints with where their designs are stored (a retry copies them)."""
    prints = []
    for row in job.prints:
        info = DesignInfo(kind="png" if row.design_type == "image/png" else "jpeg",
                          width=row.design_width, height=row.design_height,
                          size_bytes=row.design_size, sha256=row.design_sha256)
        design = Design(info=info, name=row.design_name, stored=row.design_path)
        prints.append(JobPrint(spec_of(row, row.design_path), design))
    return prints


def placed(spec: PrintSpec, width: int, height: int) -> PlacedPrint:
    """Where a stored print's `width` x `height` design lands (for its DPI and warning)."""
    return fit_print(spec, width, height)
