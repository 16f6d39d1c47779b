"""Tiny PNG files written with the standard library, for tests that need a real design."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def write_png(path: Path, width: int, height: int,
              rgba: tuple[int, int, int, int] = (200, 30, 40, 255)) -> Path:
    """A solid-colour RGBA PNG of the given size."""
    row = b"\x00" + bytes(rgba) * width
    raw = row * height
    data = (b"\x89PNG\r\n\x1a\n"
            + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0))
            + _chunk(b"IDAT", zlib.compress(raw, 9))
            + _chunk(b"IEND", b""))
    path.write_bytes(data)
    return path
