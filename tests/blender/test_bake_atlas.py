"""The bake atlas (render/bake_atlas.py): a UV layout of the whole garment for the turntable's
base-colour bake. On both built-in garments every face lies inside the unit square, no two
faces overlap, the layout is the same on two builds, and the garment's own UV layers keep
their roles (the fabric's texture reads the active render layer). A surface that lies over
itself gets no atlas (its turntable then reads its prints live)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from render_helpers import REPO, load_rgba, magenta_mask, run_script

pytestmark = [pytest.mark.blender, pytest.mark.bpy42]

_ATLAS = textwrap.dedent("""
    import json
    import sys
    import bpy
    import numpy as np
    from PIL import Image, ImageDraw
    from blender_addon._shared import templates
    from blender_addon.render import bake_atlas
    from blender_addon.render.scene import build_scene

    RASTER = 2048
    result = {}
    for template_id in ("classic-tee", "long-sleeve-tee"):
        layouts = []
        for build in range(2):
            mesh = build_scene(templates.get_template(template_id)).shirt.data
            before = [(l.name, l.active, l.active_render) for l in mesh.uv_layers]
            name = bake_atlas.ensure_atlas(mesh)
            after = [(l.name, l.active, l.active_render) for l in mesh.uv_layers
                     if l.name != name]
            uv = np.empty(len(mesh.loops) * 2, dtype=np.float32)
            mesh.uv_layers[name].data.foreach_get("uv", uv)
            layouts.append(uv.reshape(-1, 2).astype(np.float64))
        uv = layouts[0]
        totals = np.empty(len(mesh.polygons), dtype=np.int64)
        mesh.polygons.foreach_get("loop_total", totals)
        # overlap: the faces' areas add up to the area they cover together
        canvas = Image.new("1", (RASTER, RASTER))
        draw = ImageDraw.Draw(canvas)
        area, start = 0.0, 0
        for count in totals:
            points = uv[start:start + count] * RASTER
            start += count
            x, y = points[:, 0], points[:, 1]
            area += 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))
            draw.polygon([tuple(p) for p in points], fill=1)
        covered = float(np.asarray(canvas).sum())
        result[template_id] = {
            "low": float(uv.min()), "high": float(uv.max()), "area": area, "covered": covered,
            "same": bool(np.array_equal(layouts[0], layouts[1])),
            "kept": before == after, "fill": covered / RASTER ** 2}
    # a ramp that winds twice round, facing up all the way: its turns lie over each other
    verts, faces = [], []
    steps = 64
    for k in range(steps + 1):
        angle = 4 * np.pi * k / steps
        for radius in (0.1, 0.3):
            verts.append((radius * np.cos(angle), radius * np.sin(angle), 0.05 * angle))
    for k in range(steps):
        faces.append((2 * k, 2 * k + 1, 2 * k + 3, 2 * k + 2))
    ramp = bpy.data.meshes.new("ramp")
    ramp.from_pydata(verts, [], faces)
    result["ramp"] = bake_atlas.ensure_atlas(ramp)
    print("RESULT " + json.dumps(result))
""")


@pytest.fixture(scope="module")
def atlases() -> dict:
    return run_script(_ATLAS)


@pytest.mark.parametrize("template_id", ["classic-tee", "long-sleeve-tee"])
def test_the_atlas_lays_every_face_apart_inside_the_square(atlases, template_id):
    atlas = atlases[template_id]
    assert atlas["low"] >= 0.0 and atlas["high"] <= 1.0, atlas
    # drawn at 2048 px, a face's outline pixels count in the union but only half in its area:
    # overlapping faces would cover clearly less than their areas add up to
    assert atlas["covered"] >= 0.99 * atlas["area"], atlas
    # and the layout uses the texture: the charts are packed, not scattered
    assert atlas["fill"] > 0.4, atlas


@pytest.mark.parametrize("template_id", ["classic-tee", "long-sleeve-tee"])
def test_the_atlas_is_the_same_on_two_builds_and_leaves_the_garments_uvs_alone(
        atlases, template_id):
    assert atlases[template_id]["same"]
    assert atlases[template_id]["kept"]


def test_a_surface_that_lies_over_itself_gets_no_atlas(atlases):
    assert atlases["ramp"] is None


_NO_ATLAS = textwrap.dedent("""
    import sys
    from blender_addon import cli
    from blender_addon.render import bake_atlas
    bake_atlas.ensure_atlas = lambda mesh: None  # as for a garment that lies over itself
    sys.exit(cli.main(sys.argv[1:]))
""")


def test_without_an_atlas_the_turntable_prints_as_with_one(designs, tmp_path):
    args = ["--design", str(designs["magenta"]), "--preset", "chest-large", "--cpu",
            "--resolution", "128", "--angles", "front_0deg", "--frames", "2",
            "--animation-format", "png"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONWARNINGS": "ignore"}
    ink = {}
    for name, entry in (("atlas", ["-m", "blender_addon.cli"]), ("live", ["-c", _NO_ATLAS])):
        out = tmp_path / name
        proc = subprocess.run([sys.executable, *entry, *args, "--out", str(out)], cwd=REPO,
                              env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        ink[name] = magenta_mask(load_rgba(out / "turntable_0001.png")).sum()
    assert ink["live"] > 100
    assert ink["atlas"] == pytest.approx(ink["live"], rel=0.1)
