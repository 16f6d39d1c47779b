"""How fast this machine denoises: OIDN on one 1024^2 shirt still, timed in Blender.

Run by `render_bench.py` in a child process; prints one JSON line. The denoiser is a fixed
amount of arithmetic per pixel whatever the scene, which makes it the one stage that can be
compared with the figure the issue measured on its reference machine (OIDN BALANCED with its
default ACCURATE prefilter on a 1024^2 frame: 5.9 - 4.1 = 1.8 s).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import bpy  # noqa: E402

from blender_addon.core.planning import RenderSettings  # noqa: E402
from blender_addon.render import cycles_setup  # noqa: E402
from blender_addon.render.scene import build_scene  # noqa: E402

RESOLUTION = 1024
REPEATS = 3


def _render_seconds(scene: bpy.types.Scene) -> float:
    start = time.perf_counter()
    bpy.ops.render.render(write_still=False, scene=scene.name)
    return time.perf_counter() - start


def main() -> None:
    scene = build_scene().scene
    cycles_setup.configure(
        scene, RenderSettings(RESOLUTION, 1, 0.0, True, 2), cycles_setup.CPU)
    scene.cycles.denoising_prefilter = "ACCURATE"  # the (Blender's default) setup
    _render_seconds(scene)  # loads the kernels and the denoiser's weights
    with_denoiser = min(_render_seconds(scene) for _ in range(REPEATS))
    scene.cycles.use_denoising = False
    without = min(_render_seconds(scene) for _ in range(REPEATS))
    print(json.dumps({"oidn_balanced_s": round(with_denoiser - without, 3)}))


if __name__ == "__main__":
    main()
