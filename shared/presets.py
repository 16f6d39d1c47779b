"""The print placements, measured on a reference shirt (a design is fitted into one by
`shared.prints`).

Measurements are the ones print shops publish for DTG/screen printing on an adult tee, taken on
a reference size-L shirt:

- Reference shirt (size L, a typical unisex tee such as the Gildan 5000 size chart): body width
  22 in (56 cm) side seam to side seam, body length 29 in (74 cm) from the high point of the
  shoulder (HPS) to the hem; a crew neck drops about 3.5 in (9 cm) below the HPS line at the
  centre front and 1 in (2.5 cm) at the centre back.
- Full front and full back: 12 x 16 in (30.5 x 40.6 cm), the top 3 in (7.6 cm) below the collar
  seam (shops quote 2-3 in below the collar for the front, 3 in or more for the back).
- A small chest print is about 4 in (10 cm) wide, top 3 in below the collar; a standard
  ("medium") print is 10 x 12 in; a small back print under the collar sits 2 in below it.
- Lower-back prints are measured up from the hem: 3 in (7.6 cm) above it.
- A left-chest (pocket) logo is up to 4 x 4 in, its centre about 3.5 in toward the wearer's
  left of the centre line, its top 3 in below the collar seam, as on the full chest prints.
- Sleeve prints are up to about 3.5 x 3.5 in, centred on the outside of the sleeve; a sleeve's
  printable area is about 4.5 x 4.5 in (a short sleeve is ~8 in from shoulder seam to hem).
- A printed neck label (tagless) sits inside the back neck, about 3 x 3 in, its top 0.5 in
  below the collar seam.
- Minimum print resolution is 150 DPI at the printed size; 300 DPI is ideal.

A placement's position is in cm on the side it prints on, seen from outside that side: x from
the centre line toward the viewer's right, y down from the HPS line (on a sleeve, both from the
sleeve's centre).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .errors import InvalidInput

CM_PER_INCH = 2.54
MIN_PRINT_DPI = 150
IDEAL_PRINT_DPI = 300

# Reference shirt, size L (see the module docstring).
BODY_WIDTH_CM = 56.0
BODY_LENGTH_CM = 74.0
FRONT_NECK_DROP_CM = 9.0
BACK_NECK_DROP_CM = 2.5

#: Where a print is: a body side seen from outside, a sleeve seen from its outside, or the
#: inside of the back neck (seen from the front, through the neck opening).
Side = Literal["front", "back", "sleeve-left", "sleeve-right", "neck"]
SIDES: tuple[str, ...] = ("front", "back", "sleeve-left", "sleeve-right", "neck")
#: What a print's vertical position is measured from: the collar seam, the hem, or (on a
#: sleeve) the centre of the sleeve's outside.
Anchor = Literal["collar", "hem", "sleeve"]

AREAS = ("chest", "back", "back-bottom")
SIZES = ("small", "medium", "large")
#: A sleeve's printable area (see the module docstring), centred on the sleeve.
SLEEVE_AREA_CM = (11.4, 11.4)


@dataclass(frozen=True)
class Preset:
    """A print area on the reference shirt."""

    id: str
    area: str
    size: str
    side: Side
    width_cm: float
    height_cm: float
    anchor: Anchor
    #: Distance from the collar seam down to the area's top edge, or from the hem up to its
    #: bottom edge, depending on `anchor`.
    offset_cm: float
    label: str
    #: The area's centre, in cm toward the viewer's right of the centre line (or, on a sleeve,
    #: of the sleeve's centre).
    center_x_cm: float = 0.0

    @property
    def top_cm(self) -> float:
        """Distance of the area's top edge below the HPS line (on a sleeve: above its centre,
        negative, since the area is centred there)."""
        if self.anchor == "hem":
            return BODY_LENGTH_CM - self.offset_cm - self.height_cm
        if self.anchor == "sleeve":
            return -self.height_cm / 2
        neck_drop = FRONT_NECK_DROP_CM if self.side == "front" else BACK_NECK_DROP_CM
        return neck_drop + self.offset_cm


def _inches(width: float, height: float) -> tuple[float, float]:
    return (round(width * CM_PER_INCH, 1), round(height * CM_PER_INCH, 1))


def _preset(area: str, size: str, side: Side, size_in: tuple[float, float], anchor: Anchor,
            offset_in: float, label: str, *, preset_id: str = "", center_x_in: float = 0.0
            ) -> Preset:
    width_cm, height_cm = _inches(*size_in)
    return Preset(
        id=preset_id or f"{area}-{size}", area=area, size=size, side=side, width_cm=width_cm,
        height_cm=height_cm, anchor=anchor, offset_cm=round(offset_in * CM_PER_INCH, 1),
        label=label, center_x_cm=round(center_x_in * CM_PER_INCH, 1),
    )


PRESETS: dict[str, Preset] = {
    p.id: p
    for p in (
        _preset("chest", "small", "front", (4, 4), "collar", 3, "Chest, small (4 x 4 in)"),
        _preset("chest", "medium", "front", (10, 12), "collar", 3, "Chest, medium (10 x 12 in)"),
        _preset("chest", "large", "front", (12, 16), "collar", 3, "Full front (12 x 16 in)"),
        _preset("back", "small", "back", (4, 4), "collar", 2, "Upper back, small (4 x 4 in)"),
        _preset("back", "medium", "back", (10, 12), "collar", 3, "Back, medium (10 x 12 in)"),
        _preset("back", "large", "back", (12, 16), "collar", 3, "Full back (12 x 16 in)"),
        _preset("back-bottom", "small", "back", (4, 4), "hem", 3, "Lower back, small (4 x 4 in)"),
        _preset("back-bottom", "medium", "back", (10, 6), "hem", 3,
                "Lower back, medium (10 x 6 in)"),
        _preset("back-bottom", "large", "back", (12, 8), "hem", 3,
                "Lower back, large (12 x 8 in)"),
        # beside the nine: a pocket logo over the heart (the wearer's left is the viewer's
        # right), the sleeves, and a printed label inside the back neck
        _preset("chest", "small", "front", (4, 4), "collar", 3, "Left chest (4 x 4 in)",
                preset_id="chest-left", center_x_in=3.5),
        _preset("sleeve", "small", "sleeve-left", (3.5, 3.5), "sleeve", 0,
                "Left sleeve (3.5 x 3.5 in)", preset_id="sleeve-left"),
        _preset("sleeve", "small", "sleeve-right", (3.5, 3.5), "sleeve", 0,
                "Right sleeve (3.5 x 3.5 in)", preset_id="sleeve-right"),
        _preset("neck", "small", "neck", (3, 3), "collar", 0.5, "Neck label (3 x 3 in)",
                preset_id="neck-label"),
    )
}
PRESET_IDS: tuple[str, ...] = tuple(PRESETS)
DEFAULT_PRESET = "chest-medium"


def get_preset(preset_id: str) -> Preset:
    try:
        return PRESETS[preset_id]
    except (KeyError, TypeError):
        raise InvalidInput(
            f"Unknown preset {preset_id!r}; choose one of: {', '.join(PRESET_IDS)}.",
            code="unknown_preset",
        ) from None
