"""The prints of a job: what each one is (a design at a placement, moved, scaled, turned) and
where it lands, in centimetres on the reference shirt (`shared.presets`).

A print's box is given in its side's frame, seen from outside that side: x in cm toward the
viewer's right of the centre line (on a sleeve, of the sleeve's centre), y in cm down from the
HPS line (on a sleeve, from its centre). The renderer maps that frame onto the garment from its
landmarks; this module only decides the box and refuses one that leaves the side's printable
area.

Placement rule: at scale 1 a design is as large as fits its preset's area (keeping its aspect
ratio), centred horizontally and top-aligned, as printers lay it on the platen. The offset moves
that top-centre point (the preset's anchor point); the scale grows or shrinks the design about
it, so a smaller chest print stays 3 in below the collar; the rotation turns it about its own
centre, clockwise as seen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .design_image import PrintResolution
from .errors import InvalidInput
from .presets import (
    CM_PER_INCH,
    IDEAL_PRINT_DPI,
    MIN_PRINT_DPI,
    PRESETS,
    SLEEVE_AREA_CM,
    Preset,
    get_preset,
)
from .spec_fields import check_fields, spec_error, typed

#: How many prints one job may carry (front, back, two sleeves, a label, and some room).
MAX_PRINTS = 8
MIN_SCALE = 0.05
MAX_SCALE = 10.0
MAX_OFFSET_CM = 100.0
#: A box may touch its area's edge; rounding in a client must not refuse it.
EDGE_TOLERANCE_CM = 0.05


@dataclass(frozen=True)
class PrintSpec:
    """One print of a RenderSpec: a design file at a placement preset."""

    design: str
    preset: str
    #: cm, x toward the viewer's right and y down, from the preset's anchor point
    offset_cm: tuple[float, float] = (0.0, 0.0)
    #: 1.0 = the largest size that fits the preset's area, keeping the aspect ratio
    scale: float = 1.0
    #: degrees, clockwise as seen
    rotation_deg: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"design": self.design, "preset": self.preset,
                "offset_cm": list(self.offset_cm), "scale": self.scale,
                "rotation_deg": self.rotation_deg}

    @classmethod
    def from_dict(cls, data: object, what: str = "print") -> PrintSpec:
        allowed = {"design", "preset", "offset_cm", "scale", "rotation_deg"}
        values = check_fields(what, data, allowed, {"design", "preset"})
        design = typed(what, "design", values["design"], str)
        if not design.strip():
            raise spec_error(f"{what} field 'design' must not be empty.")
        preset = typed(what, "preset", values["preset"], str)
        try:
            get_preset(preset)
        except InvalidInput as error:
            raise InvalidInput(f"{what}: {error.message}", code=error.code) from None
        offset = values.get("offset_cm", [0.0, 0.0])
        if not isinstance(offset, list | tuple) or len(offset) != 2:
            raise spec_error(f"{what} field 'offset_cm' must be a list of two numbers [x, y].")
        x, y = (float(typed(what, "offset_cm", v, float)) for v in offset)
        if max(abs(x), abs(y)) > MAX_OFFSET_CM:
            raise spec_error(f"{what} field 'offset_cm' must be within {MAX_OFFSET_CM:g} cm.")
        scale = float(typed(what, "scale", values.get("scale", 1.0), float))
        if not MIN_SCALE <= scale <= MAX_SCALE:
            raise spec_error(f"{what} field 'scale' must be between {MIN_SCALE} and "
                             f"{MAX_SCALE:g}, not {scale:g}.")
        rotation = float(typed(what, "rotation_deg", values.get("rotation_deg", 0.0), float))
        if not -360.0 <= rotation <= 360.0:
            raise spec_error(f"{what} field 'rotation_deg' must be between -360 and 360.")
        return cls(design=design, preset=preset, offset_cm=(x, y), scale=scale,
                   rotation_deg=rotation)


def parse_prints(what: str, data: object) -> tuple[PrintSpec, ...]:
    """A spec's `prints` list: 1 to MAX_PRINTS prints, each named by its position."""
    if not isinstance(data, list | tuple) or not data:
        raise spec_error(f"{what} field 'prints' must be a non-empty list of prints.")
    if len(data) > MAX_PRINTS:
        raise spec_error(f"{what} has {len(data)} prints; at most {MAX_PRINTS} are allowed.")
    return tuple(PrintSpec.from_dict(item, f"print {index}")
                 for index, item in enumerate(data, start=1))


@dataclass(frozen=True)
class PrintBox:
    """Where a design prints, in its side's frame (see the module docstring), in cm."""

    side: str
    #: What the y coordinate is measured from on the garment: the collar seam, the hem or the
    #: sleeve's centre (the renderer maps each from the garment's own landmark).
    anchor: str
    center_x_cm: float
    center_y_cm: float
    #: The design's own size, before its rotation.
    width_cm: float
    height_cm: float
    rotation_deg: float

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, top, right, bottom) of the turned design, in cm."""
        turn = math.radians(self.rotation_deg)
        half_w = (abs(self.width_cm * math.cos(turn)) + abs(self.height_cm * math.sin(turn))) / 2
        half_h = (abs(self.width_cm * math.sin(turn)) + abs(self.height_cm * math.cos(turn))) / 2
        return (self.center_x_cm - half_w, self.center_y_cm - half_h,
                self.center_x_cm + half_w, self.center_y_cm + half_h)

    def to_dict(self) -> dict[str, Any]:
        left, top, right, bottom = self.bounds
        return {"side": self.side, "anchor": self.anchor,
                "center_x_cm": round(self.center_x_cm, 2),
                "center_y_cm": round(self.center_y_cm, 2),
                "width_cm": round(self.width_cm, 2), "height_cm": round(self.height_cm, 2),
                "rotation_deg": self.rotation_deg,
                "bounds_cm": [round(v, 2) for v in (left, top, right, bottom)]}


@dataclass(frozen=True)
class PlacedPrint:
    """A print fitted to its design: its box and how sharp it prints there."""

    spec: PrintSpec
    preset: Preset
    box: PrintBox
    #: design pixels per printed inch, at the final printed size
    dpi: float


def _area_bounds(side: str) -> tuple[float, float, float, float]:
    if side.startswith("sleeve"):
        width, height = SLEEVE_AREA_CM
        return (-width / 2, -height / 2, width / 2, height / 2)
    boxes = [(p.center_x_cm - p.width_cm / 2, p.top_cm, p.center_x_cm + p.width_cm / 2,
              p.top_cm + p.height_cm) for p in PRESETS.values() if p.side == side]
    return (min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes))


#: Each side's printable area, (left, top, right, bottom) in cm: what its preset areas cover
#: (for a sleeve, the sleeve's area).
PRINTABLE_AREAS: dict[str, tuple[float, float, float, float]] = {
    side: _area_bounds(side) for side in {p.side for p in PRESETS.values()}
}


def fit_print(spec: PrintSpec, width_px: int, height_px: int) -> PlacedPrint:
    """The box of `spec`'s design (`width_px` x `height_px`, upright) on the reference shirt."""
    if not (isinstance(width_px, int) and isinstance(height_px, int)) or width_px < 1 \
            or height_px < 1:
        raise InvalidInput(
            f"A design must be at least 1 x 1 pixels, not {width_px!r} x {height_px!r}.",
            code="invalid_input")
    preset = get_preset(spec.preset)
    fit = min(preset.width_cm / width_px, preset.height_cm / height_px) * spec.scale
    width_cm, height_cm = width_px * fit, height_px * fit
    offset_x, offset_y = spec.offset_cm
    box = PrintBox(side=preset.side, anchor=preset.anchor,
                   center_x_cm=preset.center_x_cm + offset_x,
                   center_y_cm=preset.top_cm + offset_y + height_cm / 2,
                   width_cm=width_cm, height_cm=height_cm, rotation_deg=spec.rotation_deg)
    return PlacedPrint(spec=spec, preset=preset, box=box,
                       dpi=width_px / (width_cm / CM_PER_INCH))


def outside_by(box: PrintBox) -> tuple[float, str]:
    """How far (cm) and on which edge `box` leaves its side's printable area; 0 when inside."""
    left, top, right, bottom = box.bounds
    a_left, a_top, a_right, a_bottom = PRINTABLE_AREAS[box.side]
    overshoot = {"left": a_left - left, "top": a_top - top, "right": right - a_right,
                 "bottom": bottom - a_bottom}
    edge = max(overshoot, key=overshoot.get)
    return max(0.0, overshoot[edge]), edge


def check_inside(placed: PlacedPrint, index: int) -> None:
    """Refuse a print that leaves its side's printable area (code `print_out_of_area`)."""
    distance, edge = outside_by(placed.box)
    if distance > EDGE_TOLERANCE_CM:
        side = placed.box.side.replace("-", " ")
        raise InvalidInput(
            f"Print {index} ({placed.spec.preset}) leaves the {side} printable area by "
            f"{distance:.1f} cm at the {edge}; move it back or make it smaller.",
            code="print_out_of_area")


def place_prints(prints: tuple[PrintSpec, ...],
                 sizes: list[tuple[int, int]]) -> list[PlacedPrint]:
    """Fit every print to its design's (width, height) and check it stays printable."""
    placed = []
    for index, (spec, (width, height)) in enumerate(zip(prints, sizes, strict=True), start=1):
        fitted = fit_print(spec, width, height)
        check_inside(fitted, index)
        placed.append(fitted)
    return placed


def sharpness(placed: PlacedPrint) -> PrintResolution:
    """How sharp a print is at its final size."""
    quality = ("blurry" if placed.dpi < MIN_PRINT_DPI else
               "acceptable" if placed.dpi < IDEAL_PRINT_DPI else "sharp")
    return PrintResolution(placed.dpi, quality)


def print_warning(placed: PlacedPrint, position: int, count: int) -> str:
    """The resolution sentence of print `position` (0-based) of a job of `count` prints, at its
    final size; naming the print when there are several (one print reads as a version-1 job's
    warning did); empty for a print that is sharp."""
    warning = sharpness(placed).warning
    if warning and count > 1:
        return f"Print {position + 1} ({placed.spec.preset}): {warning}"
    return warning


def print_warnings(placed: list[PlacedPrint]) -> list[str]:
    """Every print's resolution sentence (the CLI's, the manifest's and the job's warnings)."""
    return [w for i, p in enumerate(placed) if (w := print_warning(p, i, len(placed)))]


def read_spec_prints(what: str, values: dict) -> tuple[PrintSpec, ...]:
    """`prints`, or a version-1 spec's one `design` at its `preset` (never both)."""
    design, preset = values.pop("design", None), values.pop("preset", None)
    if "prints" in values:
        if design is not None or preset is not None:
            raise spec_error(f"A {what} gives either 'prints' or 'design' and 'preset', "
                             f"not both.")
        return parse_prints(what, values["prints"])
    if design is None or preset is None:
        missing = [name for name, value in (("design", design), ("preset", preset))
                   if value is None]
        raise spec_error(f"Missing field(s) in {what}: {', '.join(missing)} (or 'prints').")
    return (PrintSpec.from_dict({"design": design, "preset": preset}, what),)
