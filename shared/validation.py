"""Checks on untrusted input: design files by their content, and ids that become paths.

Only the first bytes of a file are read to learn its type and pixel size, so a decompression
bomb (a small file that claims a huge image) is refused before anything decodes it. The type
comes from magic bytes, never from a file name or a declared content type. Sizes are those of
the upright image (a phone photo stored 3000 x 4000 with EXIF orientation 6 is 4000 x 3000),
the one that prints, so its print resolution at a placement is computed here too.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from .design_image import ImageKind, read_header
from .errors import FileTooLarge, InvalidInput

MAX_DESIGN_BYTES = 10 * 1024 * 1024
# A 12 x 16 in full-front print at 300 DPI is 3600 x 4800 = 17 MP; allow generous headroom but
# refuse anything that would need gigabytes to decode.
MAX_DESIGN_PIXELS = 40_000_000
MAX_DESIGN_SIDE = 12_000
# Enough of the file to reach the JPEG frame header behind large EXIF/ICC segments.
HEADER_BYTES = 256 * 1024

MEDIA_TYPES: dict[str, str] = {"png": "image/png", "jpeg": "image/jpeg"}


@dataclass(frozen=True)
class DesignInfo:
    kind: ImageKind
    #: The upright image's pixel size.
    width: int
    height: int
    size_bytes: int
    sha256: str

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.kind]


def image_dimensions(head: bytes) -> tuple[ImageKind, int, int]:
    """Type and upright pixel size read from the header only, checked against the pixel caps
    (which are the same either way round)."""
    header = read_header(head)
    kind, (width, height) = header.kind, header.upright_size
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
