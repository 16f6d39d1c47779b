"""Generate ``render_assets/designs/sample.png``: the bundled sample tee graphic.

A retro sunset badge (navy ring, cream field, striped sun, two mountain ridges) on a transparent
background, drawn from signed distances with numpy so the file is reproducible. Run with the
project venv (needs ``bpy`` only to write the PNG):

    .venv/bin/python render_assets/tools/make_sample_design.py [out.png] [size]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np


def _hex(c: str) -> np.ndarray:
    c = c.lstrip("#")
    return np.array([int(c[i : i + 2], 16) / 255.0 for i in (0, 2, 4)])


NAVY, CREAM, SUN_TOP, SUN_BOT = _hex("1d2b53"), _hex("f6ead2"), _hex("ffc53d"), _hex("f2542d")
TEAL, TEAL_DARK = _hex("2a9d8f"), _hex("1b6f66")


def _cov(d: np.ndarray, px: float) -> np.ndarray:
    """Anti-aliased coverage of the region d < 0."""
    return np.clip(0.5 - d / px, 0.0, 1.0)


def draw(size: int) -> np.ndarray:
    """RGBA float image, top row first, straight alpha."""
    px = 2.0 / size
    ys, xs = np.mgrid[0:size, 0:size]
    x = (xs + 0.5) * px - 1.0
    y = 1.0 - (ys + 0.5) * px  # +y up
    r = np.hypot(x, y)
    rgb = np.zeros((size, size, 3))
    alpha = np.zeros((size, size))

    def paint(cov: np.ndarray, color) -> None:
        nonlocal rgb, alpha
        c = np.broadcast_to(color, rgb.shape) if np.ndim(color) == 1 else color
        rgb = rgb * (1 - cov[..., None]) + c * cov[..., None]
        alpha = alpha + cov * (1 - alpha)

    paint(_cov(r - 0.96, px), NAVY)  # outer ring
    paint(_cov(r - 0.86, px), CREAM)  # field
    inner = _cov(r - 0.80, px)
    # sun: vertical gradient, cut by horizontal gaps that widen downward
    sun_d = np.hypot(x, y - 0.05) - 0.52
    t = np.clip((0.57 - y) / 1.05, 0.0, 1.0)[..., None]
    sun_col = SUN_TOP * (1 - t) + SUN_BOT * t
    gaps = np.ones_like(x)
    for yc, h in ((0.02, 0.025), (-0.12, 0.04), (-0.26, 0.055)):
        gaps = np.minimum(gaps, 1.0 - _cov(np.abs(y - yc) - h, px))
    paint(_cov(sun_d, px) * gaps * inner, sun_col)
    # mountains: two ridges (slope-distance approximations), snow caps, a dark foreground ridge
    h1 = -0.18 - 0.95 * np.abs(x + 0.28)
    h2 = -0.05 - 1.10 * np.abs(x - 0.35)
    paint(_cov(y - np.maximum(h1, h2), px) * inner, TEAL)
    paint(_cov(np.maximum(y - h1, -0.27 - y), px) * inner, CREAM)
    paint(_cov(np.maximum(y - h2, -0.15 - y), px) * inner, CREAM)
    near = y - (-0.38 - 0.6 * np.abs(x - 0.05))
    paint(_cov(near, px) * inner, TEAL_DARK)
    # a base line and small stars on the ring
    paint(_cov(np.maximum(np.abs(y + 0.62) - 0.018, np.abs(x) - 0.42), px) * inner, CREAM)
    for ang in np.radians([200, 225, 250, 290, 315, 340]):
        cx, cy = 0.91 * np.cos(ang), 0.91 * np.sin(ang)
        paint(_cov(np.hypot(x - cx, y - cy) - 0.022, px), CREAM)
    return np.dstack([np.clip(rgb, 0, 1), np.clip(alpha, 0, 1)])


def save_png(pixels: np.ndarray, path: Path) -> None:
    """Write with Blender's image API (8-bit RGBA PNG, max compression)."""
    import bpy

    h, w = pixels.shape[:2]
    img = bpy.data.images.new("sample_design", w, h, alpha=True)
    img.alpha_mode = "STRAIGHT"
    # quantise to 8 bit first so flat areas stay flat and compress well
    q = np.round(pixels * 255.0) / 255.0
    img.pixels.foreach_set(np.ascontiguousarray(q[::-1]).astype(np.float32).ravel())
    img.filepath_raw = str(path)
    img.file_format = "PNG"
    # Image.save writes the stored 8-bit sRGB bytes as they are (save_render would apply the
    # scene's view transform and wash the colours out)
    img.save()
    bpy.data.images.remove(img)


def main() -> None:
    root = Path(__file__).resolve().parents[1]
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else root / "designs" / "sample.png"
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 2400
    out.parent.mkdir(parents=True, exist_ok=True)
    save_png(draw(size), out)
    print(out, out.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
