"""What each file a push uploads is, by colour: its role. A one-colour job's stills are named by
their angle and its turntable `turntable` (as every push recorded them before several-colour
jobs); in a several-colour job each role is in its colour's folder, `<rrggbb>/<angle>` and
`<rrggbb>/turntable` (`shared.job_colors`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeVar

from shared.job_colors import color_dir

TURNTABLE = "turntable"
T = TypeVar("T")


def role(colors: Sequence[str], color: str, name: str) -> str:
    """The role of a still (`name` its angle) or the turntable of `color`."""
    return name if len(colors) == 1 else f"{color_dir(color)}/{name}"


def is_turntable(name: str) -> bool:
    return name.rpartition("/")[2] == TURNTABLE


def of_color(by_role: Mapping[str, T], colors: Sequence[str], color: str) -> dict[str, T]:
    """The entries of one colour, by angle (and `turntable`)."""
    if len(colors) == 1:
        return dict(by_role)
    prefix = f"{color_dir(color)}/"
    return {key[len(prefix):]: value for key, value in by_role.items()
            if key.startswith(prefix)}
