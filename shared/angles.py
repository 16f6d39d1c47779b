"""The six camera views a job asks for, and the close-ups a job's prints add, in the order they
are rendered and shown in the store.

Azimuth is the camera's position around the shirt, counter-clockwise seen from above, starting
in front of it: 0 looks at the front, 90 stands at the wearer's left side, 180 behind, 270 at the
wearer's right side.

A close-up is never asked for: the plan adds it to a job that prints on its side (the neck
label, inside the back neck, hides behind the front collar in the front view; its close-up
looks down into the neck opening). The render layer frames it from the garment and the print,
so all it needs here is the side it shows. `ANGLES` (the six views) stays what a user picks
from and what "all" means; `STILLS` is every still an output may show.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .errors import InvalidInput


@dataclass(frozen=True)
class Angle:
    id: str
    azimuth_deg: float
    #: Position among the product's images (0 first); also the render order.
    media_order: int
    label: str
    #: The print side this still shows close up (`shared.presets.SIDES`); None for a view.
    closeup_of: str | None = None

    @property
    def is_thumbnail(self) -> bool:
        return self.id == THUMBNAIL_ANGLE


ANGLES: tuple[Angle, ...] = (
    Angle("front_0deg", 0.0, 0, "Front"),
    Angle("left_90deg", 90.0, 1, "Left side"),
    Angle("right_270deg", 270.0, 2, "Right side"),
    Angle("back_180deg", 180.0, 3, "Back"),
    Angle("front_45deg_left", 45.0, 4, "Front, 45° left"),
    Angle("front_45deg_right", 315.0, 5, "Front, 45° right"),
)
ANGLE_IDS: tuple[str, ...] = tuple(a.id for a in ANGLES)
CLOSEUPS: tuple[Angle, ...] = (
    Angle("neck_label_closeup", 0.0, 6, "Neck label, close-up", closeup_of="neck"),
)
#: Every still an output may show: the six views, then the close-ups, in media order.
STILLS: tuple[Angle, ...] = ANGLES + CLOSEUPS
STILL_IDS: tuple[str, ...] = tuple(a.id for a in STILLS)
ANGLES_BY_ID: dict[str, Angle] = {a.id: a for a in STILLS}
THUMBNAIL_ANGLE = "front_0deg"


def get_angle(angle_id: str) -> Angle:
    """A view or a close-up by id."""
    try:
        return ANGLES_BY_ID[angle_id]
    except (KeyError, TypeError):
        raise _unknown(angle_id) from None


def _unknown(angle_id: object) -> InvalidInput:
    return InvalidInput(f"Unknown angle {angle_id!r}; choose from: {', '.join(ANGLE_IDS)}.",
                        code="invalid_input")


def parse_angles(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """Views from a comma list or a sequence, validated, de-duplicated and put in media order.

    `None`, an empty string and "all" mean all six. A close-up is not a view one asks for.
    """
    if value is None:
        return ANGLE_IDS
    if isinstance(value, str):
        if value.strip().lower() in ("", "all"):
            return ANGLE_IDS
        items = [part.strip() for part in value.split(",") if part.strip()]
    else:
        items = list(value)
    if not items:
        raise InvalidInput("Choose at least one angle.", code="invalid_input")
    for item in items:
        if not isinstance(item, str) or item not in ANGLE_IDS:
            raise _unknown(item)
    return tuple(a for a in ANGLE_IDS if a in set(items))


def closeups_for(sides: Iterable[str]) -> tuple[str, ...]:
    """The close-ups a job printing on `sides` adds after its views, in media order."""
    printed = set(sides)
    return tuple(a.id for a in CLOSEUPS if a.closeup_of in printed)
