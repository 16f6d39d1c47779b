"""One normalisation of every uploaded design, with Pillow: whatever PNG or JPEG an artist or a
phone hands over becomes an 8-bit sRGB RGBA PNG, upright, that every material reads the same.

- Orientation comes from `shared.design_image` (the same reading the renderer uses), is applied
  and is gone from the result: its pixels are upright and it carries no EXIF.
- An embedded ICC profile is converted to sRGB with LittleCMS (ImageCms), so Adobe RGB and
  Display P3 designs keep their look and a CMYK press profile is honoured; a profile LittleCMS
  cannot read, or one for another colour space than the pixels, is ignored (logged).
- Transparency is kept (alpha channels, PNG tRNS for palette, grey and RGB images); a design
  without any is opaque everywhere in its own bounds.
- CMYK and YCCK JPEGs as Photoshop writes them (Adobe APP14, inverted) and 16-bit PNGs are
  scaled to 8 bits, not clipped.

The original bytes are never touched; the caller stores both.
"""

from __future__ import annotations

import io
import logging

from PIL import Image, ImageCms

from shared.design_image import DesignHeader, corrupt_image, read_header

_log = logging.getLogger(__name__)

# 16-bit levels -> 8-bit, rounded (Pillow's own 16 -> 8 conversion clips at 255).
_SIXTEEN_TO_EIGHT = [(v * 255 + 32767) // 65535 for v in range(65536)]


def normalise(original: bytes) -> bytes:
    """The design as an 8-bit sRGB RGBA PNG, upright, with the upright DPI if it stated one."""
    header = read_header(original)
    try:
        with Image.open(io.BytesIO(original), formats=["PNG", "JPEG"]) as image:
            image.load()
            colour, alpha = _colour_and_alpha(image)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise corrupt_image(str(error)) from None
    result = _to_srgb(colour, header)
    result.putalpha(alpha if alpha is not None else 255)
    result = _upright(result, header)
    result.info.clear()  # no EXIF, no profile: the pixels are upright sRGB now
    out = io.BytesIO()
    options = {"dpi": header.upright_dpi} if header.upright_dpi else {}
    # The fastest zlib level: the file only feeds the renderer, and at 20 megapixels level 6
    # takes 2-3 times as long (9 -> 21 s for a photo) for a file 10 % smaller.
    result.save(out, "PNG", compress_level=1, **options)
    return out.getvalue()


def most_opaque(image: Image.Image) -> int:
    """The alpha (0..255) of the design's most opaque pixel; 255 for a design without
    transparency."""
    if image.mode in ("RGBA", "LA", "PA"):  # most designs: no copy of the colour channels
        return image.getchannel("A").getextrema()[1]
    _colour, alpha = _colour_and_alpha(image)
    return 255 if alpha is None else alpha.getextrema()[1]


def _colour_and_alpha(image: Image.Image) -> tuple[Image.Image, Image.Image | None]:
    """The colour channels in L, RGB or CMYK (the spaces an ICC profile can describe) and the
    alpha channel, if the file has any transparency."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        wide = image.convert("I")
        grey = wide.point(_SIXTEEN_TO_EIGHT, "L")
        if "transparency" not in image.info:
            return grey, None
        clear = image.info["transparency"]
        return grey, wide.point([0 if v == clear else 255 for v in range(65536)], "L")
    if image.mode == "1":
        return image.convert("L"), None
    if image.mode in ("P", "PA"):
        has_alpha = image.mode == "PA" or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
    elif "transparency" in image.info and image.mode in ("L", "RGB"):
        image = image.convert("LA" if image.mode == "L" else "RGBA")
    if image.mode in ("LA", "RGBA"):
        return image.convert(image.mode[:-1]), image.getchannel("A")
    if image.mode not in ("L", "RGB", "CMYK"):
        return image.convert("RGB"), None
    return image, None


def _to_srgb(colour: Image.Image, header: DesignHeader) -> Image.Image:
    if header.icc_profile:
        try:
            profile = ImageCms.ImageCmsProfile(io.BytesIO(header.icc_profile))
            space = profile.profile.xcolor_space.strip()
            if space == header.color_space:
                return ImageCms.profileToProfile(colour, profile, ImageCms.createProfile("sRGB"),
                                                 outputMode="RGB")
            _log.info("ignoring a %s profile on %s pixels", space, colour.mode)
        except (ImageCms.PyCMSError, OSError, ValueError) as error:
            _log.info("ignoring an embedded ICC profile LittleCMS cannot use: %s", error)
    return colour.convert("RGB")


_TRANSPOSE = Image.Transpose


def _upright(image: Image.Image, header: DesignHeader) -> Image.Image:
    turn = header.turn
    if turn.transpose:
        image = image.transpose(_TRANSPOSE.TRANSPOSE)
    if turn.flip_vertical:
        image = image.transpose(_TRANSPOSE.FLIP_TOP_BOTTOM)
    if turn.flip_horizontal:
        image = image.transpose(_TRANSPOSE.FLIP_LEFT_RIGHT)
    return image
