"""The per-view render border (studio.crop_to_subject) never cuts into the shirt."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from render_helpers import REPO

pytestmark = [pytest.mark.blender, pytest.mark.bpy42]

_SCRIPT = textwrap.dedent("""
    import json
    import bpy
    import numpy as np
    from bpy_extras.object_utils import world_to_camera_view
    from blender_addon.render import studio
    from blender_addon.render.scene import build_scene
    from shared.angles import ANGLES

    shirt = build_scene(resolution=64, samples=1)
    scene = shirt.scene
    result = {"outside": [], "area": [], "color_border": None}

    def check(label):
        studio.crop_to_subject(scene, shirt.shirt)
        r = scene.render
        depsgraph = bpy.context.evaluated_depsgraph_get()
        ev = shirt.shirt.evaluated_get(depsgraph)
        mw = ev.matrix_world
        for v in ev.data.vertices:
            p = world_to_camera_view(scene, scene.camera, mw @ v.co)
            if not (r.border_min_x <= p.x <= r.border_max_x
                    and r.border_min_y <= p.y <= r.border_max_y):
                result["outside"].append(label)
                break
        result["area"].append((r.border_max_x - r.border_min_x)
                              * (r.border_max_y - r.border_min_y))

    studio.set_background(scene, "transparent")
    for angle in ANGLES:
        shirt.aim_camera(angle.azimuth_deg)
        check(angle.id)
    shirt.set_turntable(8)
    for frame in range(1, 9):
        scene.frame_set(frame)
        check(f"frame {frame}")
    shirt.clear_turntable()
    studio.set_background(scene, "color", (0.1, 0.2, 0.3))
    studio.crop_to_subject(scene, shirt.shirt)
    result["color_border"] = scene.render.use_border
    print("RESULT " + json.dumps(result))
""")


def test_border_holds_every_vertex_and_only_on_a_transparent_film():
    proc = subprocess.run([sys.executable, "-c", _SCRIPT], cwd=REPO, capture_output=True,
                          text=True, timeout=240, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    assert result["outside"] == []
    # and it is a real crop: the side views render well under half the frame
    assert min(result["area"]) < 0.5
    assert result["color_border"] is False
