"""The design normalisation inside Blender: the result the service's Pillow normaliser gives
(`sync_service/jobs/design_image.py`), from what Blender ships (its image loader and numpy),
so the CLI and the add-on print a design exactly as the API does.

`load_design(path)` returns an 8-bit sRGB RGBA image, upright (EXIF orientation applied), with
an embedded matrix/TRC ICC profile converted to sRGB by `shared.icc`'s maths, transparency kept,
and alpha 1 wherever the file has none. Every design comes out with four channels: Cycles reads
a greyscale file as one channel and answers alpha 1 for it even outside the image (the
texture's CLIP extension clears only the channels a texture has), which painted the whole shirt
in the design's colour.

Blender's loader gives the stored numbers when the image is marked Non-Color and
channel-packed: 8-bit files are then read as they are, and 16-bit files (which Blender decodes
to float) are neither linearised nor premultiplied. CMYK and YCCK JPEGs decode as inverted CMYK
(Photoshop's convention), as Pillow reads them; a CMYK press profile needs LittleCMS and is not
applied here (the service applies it before a worker ever sees the design).
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import bpy
import numpy as np

from .._shared import design_image, errors, icc

_log = logging.getLogger(__name__)

# Tone curves are read from tables over every 16-bit level: exact for 8-bit and 16-bit files
# (an 8-bit level k is the 16-bit level 257 k), within a twentieth of an 8-bit level when
# encoding linear light, and a table read is the cheapest numpy can do per pixel.
_LEVELS = 65536


def load_design(path: str | Path) -> bpy.types.Image:
    """The design file as a new in-memory RGBA image for the design material.

    The image is generated (it has no file behind it): never `reload()` it; call this again
    for a changed file. Errors are `InvalidInput` with the one sentence the user sees.
    """
    path = Path(path)
    try:
        header = design_image.read_header(path.read_bytes())
    except OSError as error:
        raise errors.InvalidInput(f"Design file not found: {path}", code="file_not_found") \
            from error
    pixels = normalise_pixels(_stored_pixels(path, header), header)
    if header.has_alpha and pixels[..., 3].max() * 255 < design_image.INVISIBLE_ALPHA + 0.5:
        raise design_image.nothing_to_print()
    height, width = pixels.shape[:2]
    image = bpy.data.images.new(f"Design {path.name}", width, height, alpha=True)
    image.colorspace_settings.name = "sRGB"
    image.alpha_mode = "STRAIGHT"
    # Blender's rows run bottom-up; a byte image rounds each float to the nearest level
    image.pixels.foreach_set(np.ascontiguousarray(pixels[::-1]).ravel())
    image.update()
    return image


def normalise_pixels(pixels: np.ndarray, header: design_image.DesignHeader) -> np.ndarray:
    """Stored RGBA values (top-down, 0..1) -> upright sRGB RGBA; works in place where it can."""
    profile = _applicable_profile(header)
    if profile is not None:
        pixels[..., :3] = _to_srgb(pixels[..., :3], profile)
    if not header.has_alpha:
        pixels[..., 3] = 1.0
    turn = header.turn
    if turn.transpose:
        pixels = pixels.transpose(1, 0, 2)
    if turn.flip_vertical:
        pixels = pixels[::-1]
    if turn.flip_horizontal:
        pixels = pixels[:, ::-1]
    return pixels


def _stored_pixels(path: Path, header: design_image.DesignHeader) -> np.ndarray:
    """The file's numbers as float32 RGBA, top row first (grey comes as R = G = B)."""
    try:
        source = bpy.data.images.load(str(path), check_existing=False)
    except RuntimeError as error:
        raise errors.InvalidInput(f"The design image is damaged: {path.name} cannot be read.",
                                  code="corrupt_image") from error
    try:
        source.colorspace_settings.name = "Non-Color"
        source.alpha_mode = "CHANNEL_PACKED"
        width, height = source.size
        if (width, height) != (header.width, header.height):
            raise errors.InvalidInput("The design image is damaged: its header and data "
                                      "disagree.", code="corrupt_image")
        pixels = np.empty(width * height * 4, dtype=np.float32)
        source.pixels.foreach_get(pixels)
    finally:
        bpy.data.images.remove(source)
    return pixels.reshape(height, width, 4)[::-1]


def _applicable_profile(header: design_image.DesignHeader) -> icc.MatrixProfile | None:
    """The embedded profile when it describes these pixels and would change them."""
    if not header.icc_profile:
        return None
    try:
        profile = icc.parse_profile(header.icc_profile)
    except icc.UnsupportedProfile as why:
        _log.info("design read as sRGB: its ICC profile cannot be applied here (%s)", why)
        return None
    if profile.color_space != header.color_space:
        _log.info("ignoring a %s profile on %s pixels", profile.color_space, header.color_space)
        return None
    return None if profile.is_srgb else profile


def _to_srgb(rgb: np.ndarray, profile: icc.MatrixProfile) -> np.ndarray:
    """Encoded RGB in the profile's space -> encoded sRGB: curves, one matrix, the sRGB curve
    (out-of-gamut colours clip, as LittleCMS's relative colorimetric intent does)."""
    linear = np.empty(rgb.shape, dtype=np.float32)
    for channel, curve in enumerate(profile.curves):
        linear[..., channel] = _decode_table(curve)[_levels(rgb[..., channel])]
    matrix = np.asarray(profile.to_linear_srgb(), dtype=np.float32)
    return _encode_table()[_levels(linear @ matrix.T)]


def _levels(values: np.ndarray) -> np.ndarray:
    """0..1 values -> the nearest 16-bit level, clipped (in place on a float32 temporary)."""
    scaled = values * np.float32(_LEVELS - 1)
    np.maximum(scaled, 0.0, out=scaled)  # np.clip is several times slower on numpy 1.26
    np.minimum(scaled, _LEVELS - 1, out=scaled)
    scaled += 0.5
    return scaled.astype(np.uint16)


@functools.lru_cache(maxsize=8)
def _decode_table(curve: icc.Curve) -> np.ndarray:
    return np.asarray(curve.samples(_LEVELS), dtype=np.float32)


@functools.cache
def _encode_table() -> np.ndarray:
    return np.asarray(icc.srgb_encode_table(_LEVELS), dtype=np.float32)
