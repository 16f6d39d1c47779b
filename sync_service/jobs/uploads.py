"""Checking an uploaded design: first by its header (type, size, pixel caps, from `shared/`),
then by decoding it with Pillow, which catches truncated or damaged files the header hides."""

from __future__ import annotations

import io

from PIL import Image

from shared.errors import InvalidInput
from shared.validation import DesignInfo, inspect_design_bytes


def check_design(data: bytes) -> DesignInfo:
    """Validate a design held in memory; raise 413, 415 or 422 errors from `shared.errors`."""
    # The header check refuses oversized images before Pillow allocates anything; its pixel cap
    # is below Pillow's own bomb threshold, so Pillow never warns about a design that got here.
    info = inspect_design_bytes(data)
    try:
        with Image.open(io.BytesIO(data), formats=["PNG", "JPEG"]) as image:
            size = image.size
            image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise InvalidInput(f"The design image is damaged: {error}.", code="corrupt_image") \
            from None
    if size != (info.width, info.height):
        raise InvalidInput("The design image is damaged: its header and data disagree.",
                           code="corrupt_image")
    return info
