"""Pixel checks on real renders: placement, colour, background, files, manifest, turntable."""

from __future__ import annotations

import colorsys
import json
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest
from render_helpers import FAST, load_rgba, magenta_mask, mp4_frame_count, run_cli, shirt_mask

from shared.angles import ANGLE_IDS
from shared.contracts import MANIFEST_NAME, Manifest, parse_event_line

pytestmark = [pytest.mark.blender, pytest.mark.bpy42]


def _render(out: Path, *args: str) -> tuple[Path, list]:
    result = run_cli("--out", str(out), *FAST, *args)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    events = [e for e in map(parse_event_line, result.stdout.splitlines()) if e]
    return out, events, result


@pytest.fixture(scope="module")
def chest_job(tmp_path_factory, designs):
    """All six angles + a 4-frame MP4 turntable, red shirt, chest-large print."""
    out = tmp_path_factory.mktemp("chest") / "job"
    return _render(out, "--design", str(designs["magenta"]), "--preset", "chest-large",
                   "--color", "#c8102e", "--frames", "4")


@pytest.fixture(scope="module")
def back_job(tmp_path_factory, designs):
    """Back print, white shirt, PNG-sequence turntable."""
    out = tmp_path_factory.mktemp("back") / "job"
    return _render(out, "--design", str(designs["magenta"]), "--preset", "back-large",
                   "--color", "white", "--angles", "front_0deg,back_180deg",
                   "--frames", "3", "--animation-format", "png")


def _design_pixels(path: Path) -> int:
    return int(magenta_mask(load_rgba(path)).sum())


def test_six_stills_and_manifest_checksums(chest_job):
    out, events, _ = chest_job
    manifest = Manifest.load(out)
    manifest.verify(out)
    assert set(manifest.stills) == set(ANGLE_IDS)
    for angle, still in manifest.stills.items():
        assert still.file == f"{angle}.png"
        assert (still.width, still.height) == (80, 80)
    assert manifest.animation is not None and manifest.animation.file == "turntable.mp4"
    assert manifest.blender_version.startswith(version("bpy"))  # the Blender that rendered
    assert {"stills", "animation", "encoding", "total"} <= set(manifest.timings)
    # nothing but the listed files and the manifest, no temporaries
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [o.file for o in manifest.outputs] + [MANIFEST_NAME])


def test_progress_events_per_still_and_frame(chest_job):
    _, events, _ = chest_job
    stills = [e for e in events if e.stage == "rendering" and e.item]
    frames = [e for e in events if e.stage == "animating" and e.item]
    assert [e.images_done for e in stills] == [1, 2, 3, 4, 5, 6]
    assert [e.frames_done for e in frames] == [1, 2, 3, 4]
    assert events[0].stage == "starting" and events[-1].stage == "done"


def test_turntable_mp4_has_requested_frames(chest_job):
    out, _, _ = chest_job
    assert mp4_frame_count(out / "turntable.mp4") == 4


def test_chest_design_visible_front_not_back(chest_job):
    out, _, _ = chest_job
    front = _design_pixels(out / "front_0deg.png")
    back = _design_pixels(out / "back_180deg.png")
    assert front > 150, front
    assert back < 5, back


def test_back_design_visible_back_not_front(back_job):
    out, _, _ = back_job
    assert _design_pixels(out / "back_180deg.png") > 150
    assert _design_pixels(out / "front_0deg.png") < 5


def test_png_sequence_turntable(back_job):
    out, _, _ = back_job
    manifest = Manifest.load(out)
    manifest.verify(out)
    frames = [o for o in manifest.outputs if o.kind == "frame"]
    assert [o.frame for o in frames] == [1, 2, 3]
    assert sorted(p.name for p in out.glob("turntable_*.png")) == [
        "turntable_0001.png", "turntable_0002.png", "turntable_0003.png"]
    size = frames[0].width
    assert load_rgba(out / "turntable_0001.png").shape == (size, size, 4)
    assert size < 80  # turntable frames are smaller than the stills (720 vs 1024)


def test_large_print_covers_more_than_small(tmp_path, designs, chest_job):
    out, _, _ = _render(tmp_path / "small", "--design", str(designs["magenta"]),
                        "--preset", "chest-small", "--color", "#c8102e",
                        "--angles", "front_0deg", "--no-animation")
    small = _design_pixels(out / "front_0deg.png")
    large = _design_pixels(chest_job[0] / "front_0deg.png")
    assert 0 < small * 3 < large, (small, large)


def test_transparent_background_corners(chest_job):
    out, _, _ = chest_job
    for angle in ANGLE_IDS:
        rgba = load_rgba(out / f"{angle}.png")
        for corner in (rgba[:4, :4], rgba[:4, -4:], rgba[-4:, :4], rgba[-4:, -4:]):
            assert corner[..., 3].max() == 0.0, angle
        assert shirt_mask(rgba).mean() > 0.15, angle  # and a shirt in the middle


def _mean_shirt_rgb(path: Path) -> np.ndarray:
    rgba = load_rgba(path)
    mask = shirt_mask(rgba) & ~magenta_mask(rgba)
    return rgba[..., :3][mask].mean(axis=0)


def test_red_shirt_renders_red(chest_job):
    r, g, b = _mean_shirt_rgb(chest_job[0] / "back_180deg.png")
    hue, sat, _ = colorsys.rgb_to_hsv(r, g, b)
    target, _, _ = colorsys.rgb_to_hsv(0xC8 / 255, 0x10 / 255, 0x2E / 255)
    assert min(abs(hue - target), 1 - abs(hue - target)) < 0.04, (r, g, b)
    assert sat > 0.6


def test_multi_colour_one_folder_each(tmp_path, designs):
    out, events, result = _render(tmp_path / "multi", "--design", str(designs["magenta"]),
                                  "--color", "navy,white,black", "--angles", "back_180deg",
                                  "--no-animation", "--json")
    folders = {p.name for p in out.iterdir()}
    assert folders == {"navy", "white", "black"}
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert payload["ok"] and len(payload["jobs"]) == 3
    manifests = {name: Manifest.load(out / name) for name in folders}
    for name, manifest in manifests.items():
        manifest.verify(out / name)
    # the scene is built once: only the first job has a build stage
    builds = [name for name, m in manifests.items() if "build" in m.timings]
    assert len(builds) == 1
    navy = _mean_shirt_rgb(out / "navy" / "back_180deg.png")
    white = _mean_shirt_rgb(out / "white" / "back_180deg.png")
    black = _mean_shirt_rgb(out / "black" / "back_180deg.png")
    assert navy[2] > navy[0] + 0.05 and navy[2] > navy[1] + 0.05, navy
    assert white.mean() > 0.7, white
    assert black.mean() < 0.2, black
    assert white.mean() - black.mean() > 0.5
