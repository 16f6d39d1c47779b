"""Helpers shared by the real-Blender tests (kept out of conftest so tests can import them)."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
# tiny and fast: 2 samples, no adaptive threshold worries at this size
FAST = ["--resolution", "80", "--samples", "2", "--cpu"]


def run_cli(*args: str, timeout: float = 240, cwd: Path = REPO) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-m", "blender_addon.cli", *args], cwd=cwd, env=env,
        capture_output=True, text=True, timeout=timeout,
    )


def run_script(script: str, *args: str, timeout: float = 300) -> dict:
    """Run ``script`` in a child Python with `bpy` (Blender state never leaks into the tests'
    process) and return what it printed on its ``RESULT {json}`` line."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run([sys.executable, "-c", script, *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def load_rgba(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGBA"), dtype=np.float64) / 255.0


def magenta_mask(rgba: np.ndarray) -> np.ndarray:
    """Pixels of the saturated magenta test design (after shading)."""
    r, g, b, a = (rgba[..., i] for i in range(4))
    return (a > 0.5) & (r > 0.35) & (b > 0.35) & (g < 0.5 * np.minimum(r, b))


def shirt_mask(rgba: np.ndarray) -> np.ndarray:
    return rgba[..., 3] > 0.99


def mp4_frame_count(path: Path) -> int:
    """Samples in the first track's `stsz` box (one sample per video frame)."""
    data = path.read_bytes()

    def walk(start: int, end: int) -> int | None:
        pos = start
        while pos + 8 <= end:
            size, kind = struct.unpack(">I4s", data[pos:pos + 8])
            header = 8
            if size == 1:
                size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
                header = 16
            elif size == 0:
                size = end - pos
            body = pos + header
            if kind in (b"moov", b"trak", b"mdia", b"minf", b"stbl"):
                found = walk(body, pos + size)
                if found is not None:
                    return found
            elif kind == b"stsz":
                return struct.unpack(">I", data[body + 8:body + 12])[0]
            pos += size
        return None

    count = walk(0, len(data))
    assert count is not None, f"{path.name} has no stsz box"
    return count
