"""An output folder belongs to its job: before a render writes there, what an earlier render
left (the files its manifest lists, the manifest, and the colour subfolders of a several-colour
run) is removed, so the folder never holds old angles beside a manifest that lists only new ones.
Nothing else is touched: a user's own files stay. Plain Python (no `bpy`).
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

from .._shared import colors, contracts, errors

_HEX_FOLDER = re.compile(r"[0-9a-f]{6}")


def colour_folder(token: str, color: colors.Color) -> str:
    """The subfolder of one colour in a several-colour run: its CSS name as the user wrote it,
    or its hex digits."""
    name = token.strip().lower()
    return name if name in colors.CSS_COLORS else color.hex[1:]


def is_colour_folder(name: str) -> bool:
    """Whether a folder is named as `colour_folder` names them."""
    return name in colors.CSS_COLORS or bool(_HEX_FOLDER.fullmatch(name))


def _remove_render(directory: Path) -> None:
    """Remove the files an earlier render's manifest in ``directory`` lists, and the manifest.
    A manifest that cannot be read is refused rather than guessed at: nothing says which files
    are the renderer's then."""
    if not (directory / contracts.MANIFEST_NAME).is_file():
        return
    try:
        earlier = contracts.Manifest.load(directory)
    except errors.InvalidInput:
        raise errors.InvalidInput(
            f"The output folder {directory} holds a {contracts.MANIFEST_NAME} this renderer "
            "cannot read, so the files of that earlier render cannot be told from others: "
            "remove it or choose another folder.", code="output_not_writable") from None
    for name in [o.file for o in earlier.outputs] + [contracts.MANIFEST_NAME]:
        try:
            (directory / name).unlink(missing_ok=True)
        except OSError as exc:
            raise errors.InvalidInput(
                f"Cannot remove {name}, left by an earlier render, from {directory}: "
                f"{exc.strerror or exc}.", code="output_not_writable") from None


def remove_earlier_renders(directory: Path) -> None:
    """Remove the earlier render in ``directory`` and those in its colour subfolders (from a
    several-colour run into the same folder); a colour subfolder left empty goes too."""
    if not directory.is_dir():
        return
    _remove_render(directory)
    for sub in sorted(directory.iterdir()):
        if sub.is_dir() and not sub.is_symlink() and is_colour_folder(sub.name) \
                and (sub / contracts.MANIFEST_NAME).is_file():
            _remove_render(sub)
            with contextlib.suppress(OSError):
                sub.rmdir()  # only when empty: a user's file inside keeps it
