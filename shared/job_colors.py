"""Several shirt colours in one job: the RenderSpec's `colors` list, the folder each colour's
outputs lie in, and the names a manifest may give those outputs."""

from __future__ import annotations

from typing import Any

from .colors import parse_color
from .errors import InvalidInput
from .spec_fields import revalidate, spec_error, typed

#: The most shirt colours one job renders (one Blender process, one scene build).
MAX_COLORS = 12


def parse_spec_colors(what: str, value: Any, color: str) -> tuple[str, ...]:
    """`colors` normalised (`#rrggbb`, duplicates dropped); one colour is stored as none."""
    if value is None:
        return ()
    typed(what, "colors", value, (list, tuple))
    if not value or not all(isinstance(c, str) for c in value):
        raise spec_error(f"{what} field 'colors' must be a list of colours.")
    try:
        parsed = list(dict.fromkeys(parse_color(c).hex for c in value))
    except InvalidInput as error:
        raise revalidate(what, error) from None
    if len(parsed) > MAX_COLORS:
        raise spec_error(f"{what} field 'colors' holds {len(parsed)} colours; at most "
                         f"{MAX_COLORS} render in one job.")
    if parsed[0] != color:
        raise spec_error(f"{what} field 'color' must be the first of 'colors'.")
    return tuple(parsed) if len(parsed) > 1 else ()


def color_dir(color: str) -> str:
    """The folder of one colour's outputs in a several-colour job: its hex digits."""
    return color.lstrip("#").lower()


def _plain_name(name: str) -> bool:
    return bool(name) and name not in (".", "..") and not any(ch in name for ch in "/\\\0")


def check_output_name(name: str, color: str | None) -> None:
    """An output's name: a plain file name, or `<color_dir>/<name>` for an output of colour
    `color` in a several-colour job; never any other path."""
    folder, _, rest = name.rpartition("/")
    ok = _plain_name(rest) and (not folder or (
        color is not None and _plain_name(folder) and folder == color_dir(color)))
    if not ok:
        raise spec_error(f"Output file {name!r} must be a plain file name, or one in its "
                         f"colour's folder.")
