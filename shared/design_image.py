"""What a PNG or JPEG design file says about itself, read from its header without decoding it.

Pixel size and mode, alpha, EXIF orientation, the embedded ICC profile and the stated DPI all
sit in chunks (PNG) or segments (JPEG) before the image data, so the service, the CLI and the
panel learn them in microseconds, and the normalisers (`sync_service/jobs/design_image.py`
with Pillow, `blender_addon/render/design_image.py` with Blender's loader) know what to fix.
Sizes and DPI that people see are the upright ones: a phone photo stored 3000 x 4000 with
orientation 6 is a 4000 x 3000 design.

Also the print-resolution rule (150 DPI at the printed size is the minimum, 300 ideal) as
one sentence that travels with a job. Stdlib only: this runs inside Blender too.
"""

from __future__ import annotations

import logging
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, NamedTuple

from .errors import InvalidInput, UnsupportedMediaType
from .presets import CM_PER_INCH, IDEAL_PRINT_DPI, MIN_PRINT_DPI

_log = logging.getLogger(__name__)

ImageKind = Literal["png", "jpeg"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_SOI = b"\xff\xd8\xff"
# JPEG start-of-frame markers (baseline, progressive, lossless, arithmetic); not DHT/JPG/DAC.
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_SOS = 0xDA
_ICC_APP2 = b"ICC_PROFILE\0"
_EXIF_APP1 = b"Exif\0\0"
# An ICC profile bigger than this is not a matrix/TRC design profile worth inflating.
_MAX_ICC_BYTES = 4 * 1024 * 1024

# PNG colour type -> (mode at 8 bits, mode at 16 bits, channels)
_PNG_MODES = {0: ("L", "I;16", 1), 2: ("RGB", "RGB;16", 3), 3: ("P", "P", 1),
              4: ("LA", "LA;16", 2), 6: ("RGBA", "RGBA;16", 4)}


def sniff_image_kind(head: bytes) -> ImageKind:
    """PNG or JPEG from the magic bytes; anything else is refused."""
    if head.startswith(PNG_SIGNATURE):
        return "png"
    if head.startswith(_JPEG_SOI):
        return "jpeg"
    raise UnsupportedMediaType("The design must be a PNG or JPEG image; this file is neither.")


def corrupt_image(detail: str) -> InvalidInput:
    return InvalidInput(f"The design image is damaged: {detail}.", code="corrupt_image")


#: A design whose every pixel is at most this opaque (of 255) prints nothing a shopper sees:
#: an artboard exported with its layers hidden, or a mask saved instead of the art.
INVISIBLE_ALPHA = 8


def nothing_to_print() -> InvalidInput:
    return InvalidInput("The design is fully transparent: nothing in it would print.",
                        code="empty_design")


class Turn(NamedTuple):
    """How to make a stored picture upright, as steps on a top-down pixel array in this order:
    swap the axes, reverse the rows (top <-> bottom), reverse the columns (left <-> right)."""

    transpose: bool
    flip_vertical: bool
    flip_horizontal: bool


#: EXIF orientation -> the steps that show the stored pixels upright (6: turn 90 deg clockwise).
UPRIGHT_TURNS: dict[int, Turn] = {
    1: Turn(False, False, False), 2: Turn(False, False, True), 3: Turn(False, True, True),
    4: Turn(False, True, False), 5: Turn(True, False, False), 6: Turn(True, False, True),
    7: Turn(True, True, True), 8: Turn(True, True, False),
}


@dataclass(frozen=True)
class DesignHeader:
    """A design file as its header describes it; ``width``, ``height`` and ``dpi`` are those
    of the stored pixels, the ``upright_*`` properties those people see."""

    kind: ImageKind
    width: int
    height: int
    #: Pillow's mode names; 16-bit colour is "RGB;16" / "RGBA;16", grey "I;16" / "LA;16".
    mode: str
    bit_depth: int
    channels: int
    has_alpha: bool
    orientation: int = 1
    icc_profile: bytes | None = None
    dpi: tuple[float, float] | None = None

    @property
    def color_space(self) -> Literal["GRAY", "RGB", "CMYK"]:
        """The space of the decoded colour channels: the one an embedded ICC profile must
        describe to apply (a palette decodes to RGB, YCCK to CMYK)."""
        if self.mode in ("CMYK", "YCCK"):
            return "CMYK"
        return "GRAY" if self.mode in ("1", "L", "LA", "I;16", "LA;16") else "RGB"

    @property
    def turn(self) -> Turn:
        return UPRIGHT_TURNS[self.orientation]

    @property
    def upright_size(self) -> tuple[int, int]:
        return (self.height, self.width) if self.turn.transpose else (self.width, self.height)

    @property
    def upright_dpi(self) -> tuple[float, float] | None:
        if self.dpi is None or not self.turn.transpose:
            return self.dpi
        return (self.dpi[1], self.dpi[0])


# ---------------------------------------------------------------------------------------------
# walking the file


def png_chunks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(type, body) of each chunk up to the first image data; stops where ``data`` ends."""
    pos = len(PNG_SIGNATURE)
    while pos + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IDAT" or len(body) < length:
            return
        yield kind, body
        pos += 12 + length


def jpeg_segments(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(marker, body) of each segment up to the scan header; stops at a segment that ``data``
    cuts short (a header read from a file's first bytes). A broken marker structure is a
    damaged file."""
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise corrupt_image("the JPEG structure is broken")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD9)):  # markers without a length
            pos += 2
            continue
        (length,) = struct.unpack_from(">H", data, pos + 2)
        if length < 2:
            raise corrupt_image("a JPEG segment has an impossible length")
        body = data[pos + 4:pos + 2 + length]
        if len(body) < length - 2:
            return
        yield marker, body
        if marker == _JPEG_SOS:
            return
        pos += 2 + length


# ---------------------------------------------------------------------------------------------
# EXIF (a TIFF structure: IFD0 holds orientation and resolution)


@dataclass(frozen=True)
class _Exif:
    orientation: int = 1
    dpi: tuple[float, float] | None = None


def _parse_exif(tiff: bytes) -> _Exif:
    if tiff.startswith(_EXIF_APP1):  # PNG eXIf should not carry it, some writers do
        tiff = tiff[len(_EXIF_APP1):]
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if order is None or len(tiff) < 8:
        return _Exif()
    try:
        (ifd,) = struct.unpack_from(order + "I", tiff, 4)
        (count,) = struct.unpack_from(order + "H", tiff, ifd)
        values: dict[int, float] = {}
        for i in range(min(count, 512)):
            tag, kind, _n, raw = struct.unpack_from(order + "HHI4s", tiff, ifd + 2 + 12 * i)
            if kind == 3:  # SHORT, held in the entry itself
                values[tag] = struct.unpack_from(order + "H", raw)[0]
            elif kind == 5 and tag in (0x011A, 0x011B):  # RATIONAL, at an offset
                (offset,) = struct.unpack_from(order + "I", raw)
                num, den = struct.unpack_from(order + "II", tiff, offset)
                values[tag] = num / den if den else 0.0
    except struct.error:
        _log.info("ignoring a damaged EXIF block")
        return _Exif()
    orientation = int(values.get(0x0112, 1))
    per_cm = values.get(0x0128, 2) == 3
    return _Exif(
        orientation=orientation if orientation in UPRIGHT_TURNS else 1,
        dpi=_dpi(values.get(0x011A, 0.0), values.get(0x011B, 0.0),
                 CM_PER_INCH if per_cm else 1.0),
    )


def _dpi(x: float, y: float, scale: float) -> tuple[float, float] | None:
    """Dots per inch from a density and its unit, or None when the file states nothing real."""
    if not (0 < x < 100_000 and 0 < y < 100_000 and scale > 0):
        return None
    return (round(x * scale, 2), round(y * scale, 2))


def _inflate(compressed: bytes) -> bytes | None:
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(compressed, _MAX_ICC_BYTES)
    except zlib.error:
        _log.info("ignoring a damaged embedded ICC profile")
        return None
    return data if inflater.eof else None


# ---------------------------------------------------------------------------------------------
# the two formats


def _png_header(data: bytes) -> DesignHeader:
    chunks = png_chunks(data)
    first = next(chunks, None)
    if first is None or first[0] != b"IHDR" or len(first[1]) < 13:
        raise corrupt_image("the PNG header is missing")
    width, height, depth, colour_type = struct.unpack_from(">IIBB", first[1])
    if colour_type not in _PNG_MODES:
        raise corrupt_image(f"PNG colour type {colour_type} does not exist")
    mode8, mode16, channels = _PNG_MODES[colour_type]
    mode = "1" if colour_type == 0 and depth == 1 else (mode16 if depth == 16 else mode8)
    has_alpha = colour_type in (4, 6)
    exif, icc, dpi = _Exif(), None, None
    for kind, body in chunks:
        if kind == b"tRNS":
            has_alpha = True
        elif kind == b"eXIf":
            exif = _parse_exif(body)
        elif kind == b"iCCP":
            name_end = body.find(b"\0")
            if name_end > 0 and body[name_end + 1:name_end + 2] == b"\0":  # zlib method
                icc = _inflate(body[name_end + 2:])
        elif kind == b"pHYs" and len(body) >= 9:
            x, y, unit = struct.unpack_from(">IIB", body)
            dpi = _dpi(x, y, 0.0254) if unit == 1 else None
    return DesignHeader("png", width, height, mode, depth, channels, has_alpha,
                        exif.orientation, icc, dpi or exif.dpi)


def _jpeg_header(data: bytes) -> DesignHeader:
    exif, jfif_dpi, adobe_transform = _Exif(), None, None
    icc_parts: dict[int, bytes] = {}
    icc_count = 0
    for marker, body in jpeg_segments(data):
        if marker == 0xE0 and body[:5] == b"JFIF\0" and len(body) >= 12:
            unit, x, y = struct.unpack_from(">BHH", body, 7)
            jfif_dpi = _dpi(x, y, {1: 1.0, 2: CM_PER_INCH}.get(unit, 0.0))
        elif marker == 0xE1 and body.startswith(_EXIF_APP1):
            exif = _parse_exif(body)
        elif marker == 0xE2 and body.startswith(_ICC_APP2) and len(body) > 14:
            icc_parts[body[12]] = body[14:]  # sequence number (from 1), count, data
            icc_count = body[13]
        elif marker == 0xEE and body[:5] == b"Adobe" and len(body) >= 12:
            adobe_transform = body[11]
        elif marker in _JPEG_SOF:
            if len(body) < 6:
                break
            depth, height, width, components = struct.unpack_from(">BHHB", body)
            if components == 4:
                mode = "YCCK" if adobe_transform == 2 else "CMYK"
            else:
                mode = {1: "L", 3: "RGB"}.get(components, "")
            if not mode:
                raise corrupt_image(f"a JPEG with {components} colour components")
            whole = icc_parts and sorted(icc_parts) == list(range(1, icc_count + 1))
            icc = b"".join(icc_parts[i] for i in sorted(icc_parts)) if whole else None
            return DesignHeader("jpeg", width, height, mode, depth, components, False,
                                exif.orientation, icc, jfif_dpi or exif.dpi)
    raise corrupt_image("no JPEG frame header was found")


def read_header(data: bytes) -> DesignHeader:
    """Describe a PNG or JPEG from its bytes (the whole file, or enough of it to reach the
    image data; an ICC profile or EXIF block cut off by the end of ``data`` reads as absent)."""
    kind = sniff_image_kind(data)
    header = _png_header(data) if kind == "png" else _jpeg_header(data)
    if header.width < 1 or header.height < 1:
        raise corrupt_image(f"it claims to be {header.width} x {header.height} pixels")
    return header


# ---------------------------------------------------------------------------------------------
# print resolution


@dataclass(frozen=True)
class PrintResolution:
    """How sharp a design prints at a size: design pixels per printed inch, and the sentence
    that says so when it is below the ideal (empty when it is sharp)."""

    dpi: float
    quality: Literal["sharp", "acceptable", "blurry"]

    @property
    def warning(self) -> str:
        figure = f"{self.dpi:.0f} DPI"
        if self.quality == "blurry":
            return (f"The design is {figure} at its printed size and will print blurry: "
                    f"{MIN_PRINT_DPI} DPI is the minimum, {IDEAL_PRINT_DPI} ideal.")
        if self.quality == "acceptable":
            return (f"The design is {figure} at its printed size: acceptable, "
                    f"{IDEAL_PRINT_DPI} DPI would print sharp.")
        return ""


def print_resolution(width_px: int, height_px: int, box_width: float, box_height: float,
                     unit: Literal["cm", "in"] = "cm") -> PrintResolution:
    """The resolution of an upright design scaled to fit a print box (keeping its aspect
    ratio, as `prints.fit_print` places it at scale 1): the side that fills the box sets the
    scale."""
    if width_px < 1 or height_px < 1 or box_width <= 0 or box_height <= 0:
        raise InvalidInput(f"Cannot print a {width_px} x {height_px} px design into a "
                           f"{box_width} x {box_height} {unit} box.")
    per_inch = CM_PER_INCH if unit == "cm" else 1.0
    dpi = max(width_px / (box_width / per_inch), height_px / (box_height / per_inch))
    if dpi < MIN_PRINT_DPI:
        return PrintResolution(dpi, "blurry")
    return PrintResolution(dpi, "acceptable" if dpi < IDEAL_PRINT_DPI else "sharp")
