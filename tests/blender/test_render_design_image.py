"""The renderer's normalisation (bpy + numpy) gives the pixels the service's (Pillow) gives, for
every design-file mode, on Blender 5.0 and 4.2 LTS.

All fixtures go through one child Python with `bpy` (as the CLI tests do, so Blender state
never leaks into this process); each result comes back as a .npy array.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from design_files import DesignFile, design_file_names, make_design_files, max_difference
from PIL import Image

from sync_service.jobs.design_image import normalise

pytestmark = [pytest.mark.blender, pytest.mark.bpy42]

REPO = Path(__file__).resolve().parents[2]
_CHILD = """
import json, sys
from pathlib import Path
import numpy as np
from blender_addon.render.design_image import load_design

out = Path(sys.argv[1])
report = {}
for name in sys.argv[2:]:
    image = load_design(out / name)
    width, height = image.size
    pixels = np.empty(width * height * 4, dtype=np.float32)
    image.pixels.foreach_get(pixels)
    top_down = pixels.reshape(height, width, 4)[::-1]
    np.save(out / (name + ".npy"), np.rint(top_down * 255).astype(np.uint8))
    report[name] = {"channels": image.channels, "depth": image.depth,
                    "colorspace": image.colorspace_settings.name, "float": image.is_float}
print(json.dumps(report))
"""

# A 32 px orthographic view of a plane in the fabric material, the print projected onto its
# middle quarter: the corners are shirt outside the print box, the centre is the design.
_SHIRT_CHILD = """
import json, sys
from pathlib import Path
import bpy, numpy as np
from blender_addon.render import materials
from blender_addon.render.design_image import load_design
from blender_addon.render.print_nodes import PrintLayer
from blender_addon.render.print_projection import Projector

out = Path(sys.argv[1])
bpy.ops.wm.read_factory_settings(use_empty=True)
scene = bpy.context.scene
scene.render.engine = "CYCLES"
scene.cycles.device = "CPU"
scene.cycles.samples = 4
scene.cycles.use_denoising = False
scene.render.resolution_x = scene.render.resolution_y = 32
scene.view_settings.view_transform = "Standard"
bpy.ops.mesh.primitive_plane_add(size=2)
plane = bpy.context.object
# 1 m square in the middle of the 2 m plane, seen from above (+Z)
middle = Projector(origin=(0, 0, 0), u=(1, 0, 0), v=(0, 1, 0), axis=(0, 0, 1), depth_min=-1,
                   depth_max=1)
mat = materials.build_fabric_material()
materials.set_fabric_color(mat, (0.6, 0.05, 0.05))
plane.data.materials.append(mat)
camera = bpy.data.objects.new("camera", bpy.data.cameras.new("camera"))
camera.data.type = "ORTHO"
camera.data.ortho_scale = 2
camera.location = (0, 0, 3)
scene.collection.objects.link(camera)
scene.camera = camera
scene.world = bpy.data.worlds.new("light")
report = {}
for name in ["", *sys.argv[2:]]:
    materials.set_prints(mat, [PrintLayer(load_design(out / name), middle)] if name else [])
    scene.render.filepath = str(out / "render.png")
    bpy.ops.render.render(write_still=True)
    result = bpy.data.images.load(scene.render.filepath, check_existing=False)
    pixels = np.empty(32 * 32 * 4, dtype=np.float32)
    result.pixels.foreach_get(pixels)
    bpy.data.images.remove(result)
    pixels = pixels.reshape(32, 32, 4)[..., :3]
    corners = [pixels[y, x].tolist() for y in (1, 30) for x in (1, 30)]
    report[name] = {"corners": corners, "centre": pixels[12:20, 12:20].mean((0, 1)).tolist()}
print(json.dumps(report))
"""


def _run_child(script: str, folder: Path, *names: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONWARNINGS": "ignore"}
    result = subprocess.run([sys.executable, "-c", script, str(folder), *names],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def normalised(tmp_path_factory) -> tuple[dict[str, DesignFile], dict[str, dict], Path]:
    folder = tmp_path_factory.mktemp("designs")
    files = make_design_files(folder)
    return files, _run_child(_CHILD, folder, *sorted(files)), folder


def _tolerance(fixture: DesignFile) -> int:
    """Blender's and Pillow's JPEG decoders may differ by a level or two; the ICC maths and
    16-bit scaling by LittleCMS's and Pillow's rounding (a level)."""
    return 2 if fixture.path.suffix == ".jpg" else 1


@pytest.mark.parametrize("name", design_file_names())
def test_blender_gives_the_pixels_the_service_gives(normalised, name):
    files, report, folder = normalised
    fixture = files[name]
    ours = np.load(folder / (name + ".npy"))
    with Image.open(io.BytesIO(normalise(fixture.path.read_bytes()))) as image:
        service = np.asarray(image.convert("RGBA"))
    assert ours.shape == service.shape == (*fixture.expected.size[::-1], 4)
    assert max_difference(ours, service) <= _tolerance(fixture)
    assert max_difference(ours, fixture.expected) <= fixture.tolerance
    # four 8-bit channels whatever the file had: a one-channel texture would answer alpha 1
    # outside its bounds and colour the whole shirt
    assert report[name] == {"channels": 4, "depth": 32, "colorspace": "sRGB", "float": False}
    if not fixture.has_alpha:
        assert (ours[..., 3] == 255).all()


def test_a_design_without_alpha_leaves_the_shirt_its_colour(tmp_path):
    """Greyscale files without alpha used to paint the whole shirt black: opaque inside the
    print box only, the shirt keeps its colour outside it."""
    make_design_files(tmp_path)
    names = ["grey.png", "grey16.png", "grey.jpg", "bilevel.png", "rgb.jpg", "rgba.png"]
    report = _run_child(_SHIRT_CHILD, tmp_path, *names)
    bare = np.asarray(report[""]["corners"])
    assert bare[:, 0].min() > 3 * bare[:, 1].max()  # a red shirt
    for name in names:
        corners = np.asarray(report[name]["corners"])
        assert np.abs(corners - bare).max() < 0.03, name
        centre = np.asarray(report[name]["centre"])
        assert np.abs(centre - np.asarray(report[""]["centre"])).max() > 0.02, name
