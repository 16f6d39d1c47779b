"""The neck label's close-up (issue 16 point 4): the label, inside the back neck, hides behind
the front collar in the front view, so a job that prints one also renders
`neck_label_closeup.png`, looking down into the neck opening from in front, on any garment; a
job without one renders none, and the normal camera is back for the turntable and the jobs
that follow. Checked by pixels on tiny renders.

One Blender process renders every job through the renderer (as a worker's batch would): the
classic tee without a label, with one, and without one again (same pixels as the first), then
the long-sleeve tee and a foreign glTF garment with a label, a label with a turntable, and the
first job once more (a turntable's frame settings must not stay with the scene).
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from render_helpers import load_rgba, magenta_mask, run_script, shirt_mask
from test_garment_import import _child as garment_child

from shared.contracts import Manifest

pytestmark = [pytest.mark.blender, pytest.mark.bpy42]

CLOSEUP = "neck_label_closeup"
FAST = {"resolution": 112, "samples": 3, "animation": {"enabled": False}, "color": "#ffffff",
        "angles": ["front_0deg"]}

_RENDER = textwrap.dedent("""
    import json, sys
    from blender_addon.render.renderer import Renderer
    from shared.contracts import RenderSpec

    renderer = Renderer(allow_gpu=False, events=None)
    cameras = []
    for job in json.loads(open(sys.argv[1]).read()):
        renderer.render(RenderSpec.from_dict(job))
        shirt = renderer._shirt
        cameras.append({"camera": [list(row) for row in shirt.camera.matrix_basis],
                        "rig": list(shirt.rig.rotation_euler),
                        "border": shirt.scene.render.use_border})
    print("RESULT " + json.dumps({"cameras": cameras}))
""")


def _foreign_template(root: Path) -> Path:
    """The glTF garment of `test_garment_import` (a tube torso with a crew neck, one surface,
    no inner shell) as a template that offers the neck label."""
    built = root / "built"
    built.mkdir()
    garment_child("build", str(built))
    folder = root / "foreign-tee"
    folder.mkdir()
    (folder / "garment.glb").write_bytes((built / "garment.glb").read_bytes())
    (folder / "template.json").write_text(json.dumps({
        "id": "foreign-tee", "name": "A garment from elsewhere",
        "model": {"kind": "gltf", "file": "garment.glb"},
        "supported_presets": ["chest-medium", "neck-label"], "default_color": "#ffffff"}))
    return folder


@pytest.fixture(scope="module")
def renders(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("closeup")
    Image.new("RGBA", (200, 200), (255, 0, 255, 255)).save(root / "label.png")
    Image.new("RGBA", (200, 200), (0, 170, 0, 255)).save(root / "chest.png")
    chest = {"design": str(root / "chest.png"), "preset": "chest-medium"}
    label = {"design": str(root / "label.png"), "preset": "neck-label"}
    names = ("before", "label", "after", "long", "foreign", "turning", "after_turning")
    jobs = [
        {"prints": [chest], **FAST},
        {"prints": [chest, label], **FAST},
        {"prints": [chest], **FAST},
        {"prints": [label], **FAST, "template": "long-sleeve-tee"},
        {"prints": [label], **FAST, "template": str(_foreign_template(root))},
        # a turntable (2 frames) after the stills: it must see the normal camera
        {"prints": [chest, label], **FAST, "animation": {"frames": 2, "format": "png"}},
        {"prints": [chest], **FAST},
    ]
    for name, job in zip(names, jobs, strict=True):
        job["output_dir"] = str(root / name)
    (root / "jobs.json").write_text(json.dumps(jobs))
    result = run_script(_RENDER, str(root / "jobs.json"), timeout=900)
    return {"folders": {name: root / name for name in names}, **result}


def _closeup(renders: dict, name: str) -> np.ndarray:
    return load_rgba(renders["folders"][name] / f"{CLOSEUP}.png")


@pytest.mark.parametrize("name", ["label", "long", "foreign"])
def test_a_neck_label_gets_a_close_up_that_it_fills(renders, name):
    ink = magenta_mask(_closeup(renders, name))
    assert ink.mean() > 0.08, (name, ink.mean())
    # the label, not a sliver at an edge: its middle is near the frame's middle
    rows, cols = np.nonzero(ink)
    size = ink.shape[0]
    assert abs(rows.mean() - size / 2) < size / 4 and abs(cols.mean() - size / 2) < size / 6


def test_the_close_up_is_in_the_manifest_after_the_views_asked_for(renders):
    manifest = Manifest.load(renders["folders"]["label"])
    assert manifest.spec.angles == ("front_0deg",)  # the spec keeps what was asked
    stills = [o for o in manifest.outputs if o.kind == "still"]
    assert [(o.angle, o.file) for o in stills] == [("front_0deg", "front_0deg.png"),
                                                     (CLOSEUP, f"{CLOSEUP}.png")]
    manifest.verify(renders["folders"]["label"])


def test_a_job_without_a_neck_label_renders_no_close_up(renders):
    for name in ("before", "after"):
        folder = renders["folders"][name]
        assert not (folder / f"{CLOSEUP}.png").exists()
        assert set(Manifest.load(folder).stills) == {"front_0deg"}


def test_the_normal_camera_comes_back_for_the_turntable_and_later_jobs(renders):
    before, after, after_turning = (load_rgba(renders["folders"][n] / "front_0deg.png")
                                    for n in ("before", "after", "after_turning"))
    assert np.array_equal(before, after)  # the same job, before and after a close-up
    # ... and after a turntable, whose emission-only frames render without light bounces (the
    # next stills once kept none: up to 49/255 darker)
    assert np.array_equal(before, after_turning)
    cameras = renders["cameras"]
    assert cameras[1] == cameras[0] == cameras[2]
    # the turntable's first frame faces the front as a view does: the whole shirt, not a
    # close-up the garment fills
    frame = load_rgba(renders["folders"]["turning"] / "turntable_0001.png")
    assert 0.15 < shirt_mask(frame).mean() < 0.7
