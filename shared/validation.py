"""Checks on untrusted input: design files by their content, and ids that become paths.

Only the first bytes of a file are read to learn its type and pixel size, so a decompression
bomb (a small file that claims a huge image) is refused before anything decodes it. The type
comes from magic bytes, never from a file name or a declared content type.
"""

from __future__ import annotations

import hashlib
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .errors import FileTooLarge, InvalidInput, UnsupportedMediaType

MAX_DESIGN_BYTES = 10 * 1024 * 1024
# A 12 x 16 in full-front print at 300 DPI is 3600 x 4800 = 17 MP; allow generous headroom but
# refuse anything that would need gigabytes to decode.
MAX_DESIGN_PIXELS = 40_000_000
MAX_DESIGN_SIDE = 12_000
# Enough of the file to reach the JPEG frame header behind large EXIF/ICC segments.
HEADER_BYTES = 256 * 1024

ImageKind = Literal["png", "jpeg"]
MEDIA_TYPES: dict[str, str] = {"png": "image/png", "jpeg": "image/jpeg"}

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_SOI = b"\xff\xd8\xff"
# JPEG start-of-frame markers (baseline, progressive, lossless, arithmetic); not DHT/JPG/DAC.
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


@dataclass(frozen=True)
class DesignInfo:
    kind: ImageKind
    width: int
    height: int
    size_bytes: int
    sha256: str

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.kind]


def sniff_image_kind(head: bytes) -> ImageKind:
    """PNG or JPEG from the magic bytes; anything else is refused."""
    if head.startswith(_PNG_SIGNATURE):
        return "png"
    if head.startswith(_JPEG_SOI):
        return "jpeg"
    raise UnsupportedMediaType("The design must be a PNG or JPEG image; this file is neither.")


def _corrupt(detail: str) -> InvalidInput:
    return InvalidInput(f"The design image is damaged: {detail}.", code="corrupt_image")


def _png_size(head: bytes) -> tuple[int, int]:
    if len(head) < 24 or head[12:16] != b"IHDR":
        raise _corrupt("the PNG header is missing")
    return struct.unpack(">II", head[16:24])


def _jpeg_size(head: bytes) -> tuple[int, int]:
    pos = 2
    while pos + 4 <= len(head):
        if head[pos] != 0xFF:
            raise _corrupt("the JPEG structure is broken")
        marker = head[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD9)):  # markers without a length
            pos += 2
            continue
        (length,) = struct.unpack(">H", head[pos + 2:pos + 4])
        if length < 2:
            raise _corrupt("a JPEG segment has an impossible length")
        if marker in _JPEG_SOF:
            if pos + 9 > len(head):
                break
            height, width = struct.unpack(">HH", head[pos + 5:pos + 9])
            return width, height
        if marker == 0xDA:  # start of scan before any frame header
            break
        pos += 2 + length
    raise _corrupt("no JPEG frame header was found")


def image_dimensions(head: bytes) -> tuple[ImageKind, int, int]:
    """Type and pixel size read from the header only, checked against the pixel caps."""
    kind = sniff_image_kind(head)
    width, height = _png_size(head) if kind == "png" else _jpeg_size(head)
    if width < 1 or height < 1:
        raise _corrupt(f"it claims to be {width} x {height} pixels")
    if width > MAX_DESIGN_SIDE or height > MAX_DESIGN_SIDE or width * height > MAX_DESIGN_PIXELS:
        raise InvalidInput(
            f"The design is {width} x {height} pixels; the limit is {MAX_DESIGN_SIDE} pixels a "
            f"side and {MAX_DESIGN_PIXELS // 1_000_000} megapixels in all.",
            code="image_too_large",
        )
    return kind, width, height


def check_design_size(size_bytes: int, limit: int = MAX_DESIGN_BYTES) -> None:
    if size_bytes > limit:
        raise FileTooLarge(
            f"The design is {size_bytes / 1_048_576:.1f} MB; the limit is "
            f"{limit / 1_048_576:.0f} MB."
        )
    if size_bytes == 0:
        raise InvalidInput("The design file is empty.", code="corrupt_image")


def inspect_design_bytes(data: bytes, limit: int = MAX_DESIGN_BYTES) -> DesignInfo:
    """Validate a whole design held in memory (an upload)."""
    check_design_size(len(data), limit)
    kind, width, height = image_dimensions(data[:HEADER_BYTES])
    return DesignInfo(kind, width, height, len(data), hashlib.sha256(data).hexdigest())


def inspect_design_file(path: str | Path, limit: int = MAX_DESIGN_BYTES) -> DesignInfo:
    """Validate a design on disk without reading more than the header until it passes."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"Design file not found: {path}", code="file_not_found")
    check_design_size(path.stat().st_size, limit)
    with path.open("rb") as handle:
        kind, width, height = image_dimensions(handle.read(HEADER_BYTES))
    return DesignInfo(kind, width, height, path.stat().st_size, file_sha256(path))


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")


def check_safe_id(value: object, what: str = "id") -> str:
    """An id that can safely become a file or folder name: letters, digits, `_` and `-`, at most
    128 characters, so `..`, `/`, `\\` and NUL can never reach a path."""
    if not isinstance(value, str) or not _SAFE_ID.fullmatch(value):
        raise InvalidInput(
            f"Invalid {what} {value!r}: use 1-128 letters, digits, '_' or '-', starting with a "
            "letter or digit.",
            code="invalid_id",
        )
    return value


def ascii_filename(name: str, default: str = "design") -> str:
    """A display file name reduced to safe ASCII (stores garble other names); never a path."""
    base = re.split(r"[\\/]", name or "")[-1]
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._")
    return cleaned[:100] or default
