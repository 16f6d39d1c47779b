"""A spec with two colours through the real renderer (issue 15 part 1), tiny: one Blender
process, one scene build, each colour's still and turntable in its folder showing its colour,
one manifest listing them by colour, progress over both."""

from __future__ import annotations

import json

import numpy as np
import pytest
from render_helpers import load_rgba, magenta_mask, mp4_frame_count, run_cli, shirt_mask

from shared.colors import parse_color
from shared.contracts import Manifest, RenderSpec, parse_event_line

pytestmark = [pytest.mark.blender, pytest.mark.bpy42]
RED, NAVY = parse_color("red").hex, parse_color("navy").hex


def _mean_shirt_rgb(rgba: np.ndarray) -> np.ndarray:
    return rgba[..., :3][shirt_mask(rgba) & ~magenta_mask(rgba)].mean(axis=0)


def test_a_spec_with_red_and_navy(tmp_path, designs):
    out = tmp_path / "job"
    spec = RenderSpec.from_dict({
        "design": str(designs["magenta"]), "preset": "chest-medium", "color": RED,
        "colors": [RED, NAVY], "output_dir": str(out), "angles": ["back_180deg"],
        "resolution": 64, "samples": 2, "job_id": "rjob_two",
        "animation": {"frames": 2, "format": "mp4"}})
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(spec.to_json())
    result = run_cli("--spec", str(spec_file), "--cpu", "--json")
    assert result.returncode == 0, result.stderr

    manifest = Manifest.load(out)
    manifest.verify(out)
    assert manifest.spec.colors == (RED, NAVY)
    assert sorted(o.file for o in manifest.outputs) == sorted(
        f"{c[1:]}/{name}" for c in (RED, NAVY) for name in ("back_180deg.png", "turntable.mp4"))
    for color in (RED, NAVY):
        assert mp4_frame_count(out / manifest.animation_of(color).file) == 2
    red = _mean_shirt_rgb(load_rgba(out / manifest.stills_of(RED)["back_180deg"].file))
    navy = _mean_shirt_rgb(load_rgba(out / manifest.stills_of(NAVY)["back_180deg"].file))
    assert red[0] > red[2] + 0.2 and red[0] > red[1] + 0.2, red
    assert navy[2] > navy[0] + 0.05 and navy[2] > navy[1] + 0.05, navy
    # one scene build: only the first colour's render built it
    builds = [c for c in (RED, NAVY) if "build" in Manifest.load(out / c[1:]).timings]
    assert builds == [RED]

    events = [e for e in map(parse_event_line, result.stdout.splitlines()) if e]
    assert {(e.images_total, e.frames_total) for e in events} == {(2, 4)}
    assert [e.stage for e in events].count("done") == 1 and events[-1].stage == "done"
    assert (events[-1].images_done, events[-1].frames_done) == (2, 4)
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert payload["ok"] and payload["colors"] == [RED, NAVY]
