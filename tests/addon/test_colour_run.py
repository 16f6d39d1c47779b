"""A several-colour spec in one process (issue 15 part 1), in plain Python with a stand-in for
the Blender renderer: every colour through the same renderer into its folder, one progress for
the whole job, one manifest listing the outputs by colour; a one-colour spec is rendered as
before."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

from addon_pngs import write_png

from blender_addon.core import colour_run, manifest_writer
from shared.contracts import Manifest, PrintedDesign, RenderSpec, parse_event_line

ANGLES = ["front_0deg", "back_180deg"]


class StandIn:
    """Renders like the real one: events on `events`, a still per angle, a turntable, a
    manifest in the spec's folder; remembers the specs it got (one instance: one scene)."""

    def __init__(self, events: io.StringIO | None) -> None:
        self.events = events
        self.specs: list[RenderSpec] = []

    def _emit(self, stage: str, done: int, frames: int, spec: RenderSpec, item=None) -> None:
        if self.events is not None:
            self.events.write(json.dumps({
                "event": "tshirt.progress", "stage": stage, "images_done": done,
                "images_total": len(spec.angles), "frames_done": frames,
                "frames_total": spec.animation.frames, "item": item,
                "job_id": spec.job_id}) + "\n")

    def render(self, spec: RenderSpec) -> Manifest:
        self.specs.append(spec)
        self._emit("starting", 0, 0, spec)
        out = Path(spec.output_dir)
        out.mkdir(parents=True, exist_ok=True)
        outputs = []
        for number, angle in enumerate(spec.angles, start=1):
            path = write_png(out / f"{angle}.png", 8, 8, (int(spec.color[1:3], 16), 0, 0, 255))
            outputs.append(manifest_writer.describe(path, "still", angle=angle))
            self._emit("rendering", number, 0, spec, item=path.name)
        self._emit("animating", len(spec.angles), spec.animation.frames, spec)
        video = out / "turntable.mp4"
        video.write_bytes(spec.color.encode())
        outputs.append(manifest_writer.describe(video, "animation", size=(8, 8)))
        manifest = manifest_writer.build_manifest(spec, "5.0.1", outputs, {"total": 1.0},
                                                  "CPU")
        manifest = replace(manifest, prints=tuple(  # as the renderer records each print
            PrintedDesign(8, 8, 300.0, p.preset, {"side": "front"}) for p in spec.prints))
        (out / "manifest.json").write_text(manifest.to_json())
        self._emit("done", len(spec.angles), spec.animation.frames, spec)
        return manifest


def spec(tmp_path, **extra) -> RenderSpec:
    return RenderSpec.from_dict({"design": str(tmp_path / "d.png"), "preset": "chest-small",
                                 "color": "#ff0000", "output_dir": str(tmp_path / "out"),
                                 "angles": ANGLES, "job_id": "job1",
                                 "animation": {"frames": 4}, **extra})


def test_every_colour_in_its_folder_with_one_manifest_by_colour(tmp_path):
    events = io.StringIO()
    renderer = StandIn(events)
    job = spec(tmp_path, colors=["#ff0000", "#1b2a4a"])
    manifest = colour_run.render_colours(renderer, job)

    assert [s.color for s in renderer.specs] == ["#ff0000", "#1b2a4a"]
    assert [s.output_dir for s in renderer.specs] == [str(tmp_path / "out" / "ff0000"),
                                                      str(tmp_path / "out" / "1b2a4a")]
    assert all(not s.colors for s in renderer.specs)
    top = Manifest.load(tmp_path / "out")
    assert top == manifest and top.spec == job
    top.verify(tmp_path / "out")
    assert sorted(o.file for o in top.outputs) == sorted(
        f"{folder}/{name}" for folder in ("ff0000", "1b2a4a")
        for name in ("front_0deg.png", "back_180deg.png", "turntable.mp4"))
    assert top.stills_of("#1b2a4a")["front_0deg"].file == "1b2a4a/front_0deg.png"
    assert top.animation_of("#ff0000").file == "ff0000/turntable.mp4"
    assert Manifest.load(tmp_path / "out" / "1b2a4a").spec.color == "#1b2a4a"

    progress = [parse_event_line(line) for line in events.getvalue().splitlines()]
    assert all(e.images_total == 4 and e.frames_total == 8 for e in progress)
    assert [e.stage for e in progress].count("starting") == 1
    assert [e.stage for e in progress].count("done") == 1 and progress[-1].stage == "done"
    assert progress[-1].item == "manifest.json"
    assert (progress[-1].images_done, progress[-1].frames_done) == (4, 8)
    done = [e.images_done for e in progress]
    assert done == sorted(done)  # only rises, over both colours
    assert {e.job_id for e in progress} == {"job1"}
    assert "1b2a4a/back_180deg.png" in {e.item for e in progress}


def test_a_second_run_replaces_the_first_runs_files(tmp_path):
    colour_run.render_colours(StandIn(None), spec(tmp_path, colors=["#ff0000", "#1b2a4a"]))
    (tmp_path / "out" / "notes.txt").write_text("mine")
    colour_run.render_colours(StandIn(None), spec(tmp_path, colors=["#ff0000", "#00ff00"]))
    folders = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert folders == ["00ff00", "ff0000", "manifest.json", "notes.txt"]


def test_one_colour_is_rendered_as_before(tmp_path):
    renderer = StandIn(None)
    job = spec(tmp_path)
    manifest = colour_run.render_colours(renderer, job)
    assert renderer.specs == [job]
    assert {o.file for o in manifest.outputs} == {"front_0deg.png", "back_180deg.png",
                                                  "turntable.mp4"}


def test_the_job_manifest_keeps_every_print(tmp_path):
    prints = [{"design": str(tmp_path / "a.png"), "preset": "chest-left"},
              {"design": str(tmp_path / "b.png"), "preset": "back-large", "offset_cm": [0, 3]}]
    data = spec(tmp_path, colors=["#ff0000", "#1b2a4a"]).to_dict()
    job = RenderSpec.from_dict({**data, "prints": prints})
    colour_run.render_colours(StandIn(None), job)
    top = Manifest.load(tmp_path / "out")
    assert top.spec.prints == job.prints
    assert [p.preset for p in top.prints] == ["chest-left", "back-large"]
    assert top.prints == Manifest.load(tmp_path / "out" / "ff0000").prints
