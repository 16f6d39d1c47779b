"""One render from the panel as a child: the spec file, the work folder, what the panel shows
of its progress, where its stills are (plain Python, the fake renderer instead of Blender)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from addon_pngs import write_png
from fake_renderer import FakeRenderer

from blender_addon.core import render_job
from shared.contracts import ProgressEvent, RenderSpec


def _spec(tmp_path: Path) -> RenderSpec:
    design = write_png(tmp_path / "d.png", 40, 40)  # the renderer reads it
    return RenderSpec.from_dict({
        "design": str(design), "preset": "back-large", "color": "navy",
        "output_dir": str(tmp_path / "out"), "angles": ["front_0deg", "back_180deg"],
        "animation": {"enabled": False}, "background": "studio", "resolution": 64})


def test_a_render_gets_only_its_spec_and_leaves_no_work_folder(tmp_path):
    fake = FakeRenderer(tmp_path / "fake")
    spec = _spec(tmp_path)
    job = render_job.start(spec, blender_binary=str(fake.binary))
    try:
        assert job.work_dir.name.startswith(render_job.WORK_PREFIX)
        assert RenderSpec.from_json((job.work_dir / "spec.json").read_text()) == spec
        deadline = time.monotonic() + 20
        while job.run.outcome is None:
            job.run.poll()
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        job.close()
    assert job.run.outcome.ok and not job.work_dir.exists()
    (run,) = fake.runs()
    args = run["argv"]
    assert args[:2] == ["--spec", str(job.work_dir / "spec.json")]
    assert not any(a.startswith("--design") or a.startswith("--out") for a in args)
    assert RenderSpec.from_dict(run["spec"]) == spec
    assert render_job.still_files(spec.output_dir, spec.angles) == {
        angle: Path(spec.output_dir) / f"{angle}.png" for angle in spec.angles}


def test_a_renderer_that_cannot_start_leaves_no_work_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(render_job.tempfile, "tempdir", str(tmp_path))
    with pytest.raises(render_job.errors.RenderFailed, match="Could not start"):
        render_job.start(_spec(tmp_path), blender_binary=str(tmp_path / "no-blender"))
    assert not list(tmp_path.glob(f"{render_job.WORK_PREFIX}*"))


@pytest.mark.parametrize(("event", "fraction"), [
    (ProgressEvent("starting", 0, 6, 0, 48), 0.0),
    (ProgressEvent("rendering", 3, 6, 0, 48), 3 / 54),
    (ProgressEvent("animating", 6, 6, 24, 48), 30 / 54),
    (ProgressEvent("rendering", 0, 0), 0.0),
    (ProgressEvent("done", 6, 6, 48, 48), 1.0),
])
def test_progress_fraction(event, fraction):
    assert render_job.progress_fraction(event) == pytest.approx(fraction)


def test_stage_text():
    assert render_job.stage_text(ProgressEvent("rendering", 2, 6)) == "Rendering stills 2/6"
    assert render_job.stage_text(ProgressEvent("animating", 6, 6, 3, 48, "x")) == \
        "Turntable frame 3/48: x"
    assert render_job.stage_text(ProgressEvent("encoding")) == "Encoding"


def test_still_files_fall_back_to_the_folder_without_a_readable_manifest(tmp_path):
    (tmp_path / "front_0deg.png").write_bytes(b"x")
    expected = {"front_0deg": Path(tmp_path / "front_0deg.png")}
    assert render_job.still_files(tmp_path, ["front_0deg", "back_180deg"]) == expected
    (tmp_path / "manifest.json").write_text(json.dumps({"nonsense": True}))
    assert render_job.still_files(tmp_path, ["front_0deg", "back_180deg"]) == expected
