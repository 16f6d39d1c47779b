"""The six camera views, in the order they are rendered and shown in the store.

Azimuth is the camera's position around the shirt, counter-clockwise seen from above, starting
in front of it: 0 looks at the front, 90 stands at the wearer's left side, 180 behind, 270 at the
wearer's right side.
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
ANGLES_BY_ID: dict[str, Angle] = {a.id: a for a in ANGLES}
THUMBNAIL_ANGLE = "front_0deg"


def get_angle(angle_id: str) -> Angle:
    try:
        return ANGLES_BY_ID[angle_id]
    except (KeyError, TypeError):
        raise InvalidInput(
            f"Unknown angle {angle_id!r}; choose from: {', '.join(ANGLE_IDS)}.",
            code="invalid_input",
        ) from None


def parse_angles(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """Angles from a comma list or a sequence, validated, de-duplicated and put in media order.

    `None`, an empty string and "all" mean all six.
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
    wanted = {get_angle(item).id for item in items}
    return tuple(a for a in ANGLE_IDS if a in wanted)
