"""The second built-in garment, the long-sleeve tee: its sleeves hang to the wrist, its sleeve
landmarks sit on the upper arm, and its template renders every placement it supports, each
print visible on the view that shows its side."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from render_helpers import REPO, load_rgba, magenta_mask, run_cli, shirt_mask

from shared.presets import PRESETS
from shared.templates import get_template

pytestmark = [pytest.mark.blender, pytest.mark.bpy42]

TEMPLATE = "long-sleeve-tee"
#: The view that shows each side's print.
VIEW = {"front": "front_0deg", "back": "back_180deg", "sleeve-left": "left_90deg",
        "sleeve-right": "right_270deg", "neck": "front_0deg"}

_GEOMETRY = textwrap.dedent("""
    import json
    import bpy
    import bmesh
    from mathutils import Vector
    from mathutils.bvhtree import BVHTree
    from blender_addon.render.shirt_mesh import build_shirt_mesh
    from blender_addon.render.shirt_shape import PART_ATTRIBUTE, PART_SLEEVE
    from shared.templates import get_template

    mesh = build_shirt_mesh("LongSleeveTee", "long_sleeve_tee")
    parts = [0] * len(mesh.polygons)
    mesh.attributes[PART_ATTRIBUTE].data.foreach_get("value", parts)
    sleeve = {v for p in mesh.polygons if parts[p.index] == PART_SLEEVE for v in p.vertices}
    zs = [v.co.z for v in mesh.vertices]
    bm = bmesh.new()
    bm.from_mesh(mesh)
    tree = BVHTree.FromBMesh(bm)
    landmarks = {}
    for name, point in get_template("long-sleeve-tee").landmarks.items():
        hit, normal, _, distance = tree.find_nearest(Vector(point))
        landmarks[name] = {"distance": distance, "normal": list(normal), "z": point[2]}
    try:
        build_shirt_mesh("X", "poncho")
        unknown = "built"
    except ValueError as error:
        unknown = str(error)
    print("RESULT " + json.dumps({
        "sleeve_min_z": min(mesh.vertices[i].co.z for i in sleeve),
        "sleeve_max_z": max(mesh.vertices[i].co.z for i in sleeve),
        "bottom_z": min(zs), "top_z": max(zs), "faces": len(mesh.polygons),
        "uv_maps": [uv.name for uv in mesh.uv_layers], "landmarks": landmarks,
        "unknown": unknown}))
""")


def _geometry() -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run([sys.executable, "-c", _GEOMETRY], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def test_long_sleeves_hang_to_the_wrist_and_their_landmarks_sit_on_the_upper_arm():
    g = _geometry()
    top, hem = g["top_z"], g["bottom_z"]
    # hanging, not sticking out: the cuffs are well below 60 % of the way down to the hem
    # (a short sleeve ends near the armpit, about a third of the way down)
    assert g["sleeve_min_z"] < top - 0.6 * (top - hem), g
    assert g["sleeve_min_z"] > hem  # and above the hem, as a wrist is
    assert g["uv_maps"] == ["Print"] and g["faces"] < 40_000
    assert "poncho" in g["unknown"]
    for name, side in (("sleeve_left", 1.0), ("sleeve_right", -1.0)):
        mark = g["landmarks"][name]
        assert mark["distance"] < 0.005, (name, mark)  # on the sleeve's surface
        assert mark["normal"][0] * side > 0.8, (name, mark)  # its outside, facing away
        # the upper arm: the upper half of the sleeve's height, not the forearm or cuff
        assert mark["z"] > (g["sleeve_min_z"] + g["sleeve_max_z"]) / 2, (name, mark)


def test_the_long_sleeve_template_renders_every_placement_it_supports(designs, tmp_path):
    template = get_template(TEMPLATE)
    assert {"sleeve-left", "sleeve-right", "chest-left", "neck-label"} <= set(
        template.supported_presets)
    rows = [{"design": str(designs["magenta"]), "preset": preset, "template": TEMPLATE,
             "angles": VIEW[PRESETS[preset].side], "out": str(tmp_path / preset)}
            for preset in template.supported_presets]
    batch = tmp_path / "batch.jsonl"
    batch.write_text("".join(json.dumps(row) + "\n" for row in rows))
    result = run_cli("--batch", str(batch), "--resolution", "128", "--samples", "2", "--cpu",
                     "--no-animation", timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    for row in rows:
        preset = PRESETS[row["preset"]]
        rgba = load_rgba(Path(row["out"]) / f"{row['angles']}.png")
        shirt = shirt_mask(rgba)
        rows_px = np.nonzero(shirt.any(axis=1))[0]
        px_per_cm = (rows_px[-1] - rows_px[0]) / 76.0  # collar top to hem, about 76 cm
        area = preset.width_cm * preset.height_cm * px_per_cm**2
        ink = magenta_mask(rgba)
        # the neck label shows only through the neck opening, partly behind the front collar
        share = 0.05 if preset.side == "neck" else 0.4
        assert ink.sum() > share * area, (preset.id, int(ink.sum()), area)
        if preset.side.startswith("sleeve"):
            ys = np.nonzero(ink)[0]
            # on the upper arm: in the upper half of the shirt's height on the side view
            assert ys.mean() < (rows_px[0] + rows_px[-1]) / 2, (preset.id, ys.mean())
