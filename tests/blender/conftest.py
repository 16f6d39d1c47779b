"""Fixtures for the real-Blender tests: tiny designs generated with Pillow.

Every render runs the CLI in a subprocess (see `render_helpers.run_cli`), so Blender state
never leaks between tests; sizes and samples are tiny so the folder runs in minutes on 2 cores.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

pytest.importorskip("bpy", reason="needs the bpy wheel (the 'blender' extra)")


@pytest.fixture(scope="session")
def designs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("designs")
    square = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    square.paste((255, 0, 255, 255), (0, 0, 200, 200))
    square.save(root / "magenta.png")
    (root / "notes.png").write_text("this is not an image\n")
    ihdr = struct.pack(">IIBBBBB", 64, 64, 8, 6, 0, 0, 0)
    chunk = struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    (root / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk + b"garbage!" * 64)
    Image.new("RGBA", (200, 200), (255, 0, 255, 0)).save(root / "transparent.png")
    return {"magenta": root / "magenta.png", "text": root / "notes.png",
            "corrupt": root / "corrupt.png", "transparent": root / "transparent.png"}
