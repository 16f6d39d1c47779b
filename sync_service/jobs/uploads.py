"""An uploaded design: checked first by its header (type, size, pixel caps, from `shared/`),
then by decoding it with Pillow, which catches truncated or damaged files the header hides;
and normalised (`design_image.normalise`) into the copy a render prints.

The stored original stays byte for byte as uploaded. The normalised copy is made by the worker
for each render, not at upload: at 20 megapixels it costs seconds (a 20 MP phone JPEG with a
Display P3 profile: 0.55 s to check, 5.8 s to normalise on a loaded 2-core box) and its PNG is
several times the JPEG (8 MB -> 47 MB), which a remote worker would otherwise download.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from shared.design_image import INVISIBLE_ALPHA, nothing_to_print, read_header
from shared.errors import InvalidInput
from shared.validation import HEADER_BYTES, DesignInfo, inspect_design_bytes

from .design_image import most_opaque, normalise

#: The normalised copy's name in a render's work folder (of a job's first design).
PRINT_COPY_NAME = "design-srgb.png"


def check_design(data: bytes) -> DesignInfo:
    """Validate a design held in memory; raise 413, 415 or 422 errors from `shared.errors`."""
    # The header check refuses oversized images before Pillow allocates anything; its pixel cap
    # is below Pillow's own bomb threshold, so Pillow never warns about a design that got here.
    info = inspect_design_bytes(data)
    header = read_header(data[:HEADER_BYTES])  # the stored size, before any EXIF turn
    try:
        with Image.open(io.BytesIO(data), formats=["PNG", "JPEG"]) as image:
            size = image.size
            image.load()
            invisible = header.has_alpha and most_opaque(image) <= INVISIBLE_ALPHA
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise InvalidInput(f"The design image is damaged: {error}.", code="corrupt_image") \
            from None
    if size != (header.width, header.height):
        raise InvalidInput("The design image is damaged: its header and data disagree.",
                           code="corrupt_image")
    if invisible:
        raise nothing_to_print()
    return info


def print_copy(design: Path, folder: Path, index: int = 0) -> Path:
    """Write the design as every material prints it (8-bit sRGB RGBA, upright, its ICC
    profile applied: a CMYK press profile too, which only Pillow's LittleCMS can) into
    ``folder``; the renderer then reads a file its own normaliser leaves as it is. A job's
    `index`-th distinct design is `design-<index>-srgb.png` beside the first one's."""
    name = PRINT_COPY_NAME if index == 0 else PRINT_COPY_NAME.replace("-", f"-{index}-", 1)
    target = folder / name
    target.write_bytes(normalise(design.read_bytes()))
    return target
