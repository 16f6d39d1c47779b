"""Look-dev contact sheet: the six product angles of one shirt in one PNG.

Not part of the product or the tests; it is how the scene builder's look is checked by eye.

    .venv/bin/python render_assets/tools/lookdev.py --color "#c8102e" --out /tmp/sheet.png
    .venv/bin/python render_assets/tools/lookdev.py --colors "#ffffff,#000000" --size 256

Several colours give one row each. Transparent renders are laid on a light checker-free grey.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import bpy  # noqa: E402

from blender_addon.render.scene import build_scene  # noqa: E402
from shared.colors import parse_color  # noqa: E402
from shared.presets import PRESET_IDS  # noqa: E402
from shared.prints import PlacedPrint, PrintSpec, fit_print  # noqa: E402

AZIMUTHS = (0, 90, 270, 180, 45, 315)


def _placement(preset: str, design: str) -> PlacedPrint:
    """The renderer's way: fit the design's pixel size into the preset's print area."""
    img = bpy.data.images.load(design, check_existing=False)
    w, h = img.size
    bpy.data.images.remove(img)
    return fit_print(PrintSpec(design, preset), int(w), int(h))


def _linear(hex_color: str) -> tuple[float, float, float]:
    return parse_color(hex_color).linear


def _read_png(path: str) -> np.ndarray:
    img = bpy.data.images.load(path, check_existing=False)
    w, h = img.size
    px = np.empty(w * h * 4, np.float32)
    img.pixels.foreach_get(px)
    bpy.data.images.remove(img)
    return px.reshape(h, w, 4)  # bottom row first


def _over_grey(rgba: np.ndarray, grey: float = 0.93) -> np.ndarray:
    a = rgba[..., 3:4]
    out = rgba.copy()
    out[..., :3] = rgba[..., :3] * a + grey * (1 - a)
    out[..., 3] = 1.0
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--colors", default="#c8102e")
    ap.add_argument("--design", default=str(REPO / "render_assets/designs/sample.png"))
    ap.add_argument("--placement", default="chest-large", choices=[*PRESET_IDS, "none"])
    ap.add_argument("--background", default="transparent")
    ap.add_argument("--size", type=int, default=384)
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument("--azimuths", default=",".join(map(str, AZIMUTHS)))
    ap.add_argument("--out", default="/tmp/tshirt_contact_sheet.png")
    args = ap.parse_args(sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else None)

    built = build_scene(resolution=args.size, samples=args.samples)
    if args.background == "studio" or args.background == "transparent":
        built.set_background(args.background)
    else:
        built.set_background("color", _linear(args.background))
    if args.placement != "none":
        built.set_prints([(args.design, _placement(args.placement, args.design))])
    azimuths = [float(a) for a in args.azimuths.split(",")]
    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="lookdev_"))
    for color in args.colors.split(","):
        built.set_color(_linear(color))
        tiles = []
        for az in azimuths:
            built.aim_camera(az)
            path = tmp / f"{color.strip('#')}_{int(az)}.png"
            built.scene.render.filepath = str(path)
            t0 = time.perf_counter()
            bpy.ops.render.render(write_still=True)
            print(f"{color} az {az:5.0f}: {time.perf_counter() - t0:5.1f} s", flush=True)
            px = _read_png(str(path))
            a = px[..., 3] > 0.99
            print(f"   shirt pixels: median sRGB {np.median(px[a][:, :3], axis=0).round(3)}"
                  f" p95 {np.percentile(px[a][:, :3], 95, axis=0).round(3)}", flush=True)
            tiles.append(_over_grey(px))
        per_row = 3 if len(tiles) > 4 else len(tiles)
        for i in range(0, len(tiles), per_row):
            chunk = tiles[i : i + per_row]
            chunk += [np.full_like(tiles[0], 0.93)] * (per_row - len(chunk))
            rows.append(np.concatenate(chunk, axis=1))
    sheet = np.concatenate(rows[::-1], axis=0)  # bottom row first in Blender images
    h, w = sheet.shape[:2]
    img = bpy.data.images.new("contact_sheet", w, h, alpha=True)
    img.pixels.foreach_set(sheet.astype(np.float32).ravel())
    img.filepath_raw = args.out
    img.file_format = "PNG"
    img.save()
    print("faces", len(built.shirt.data.polygons), "sheet", args.out)


if __name__ == "__main__":
    main()
