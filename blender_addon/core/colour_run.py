"""A several-colour job in one process: each colour of the spec renders into its folder
(`<output_dir>/<rrggbb>/`) through the same renderer, so the scene is built once and only the
colour changes; progress is reported for the whole job (the counts of every colour, one `done`
at the end); and one manifest at the top lists every colour's outputs by colour, as the service
takes them. Each colour's folder keeps its own one-colour manifest too.

Plain Python (no `bpy`): the renderer is anything with `render(spec) -> Manifest` and an
`events` stream it reports on.
"""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Protocol, TextIO

from .._shared import contracts, job_colors
from .jobfiles import JobFiles
from .output_folder import remove_earlier_renders


class ColourRenderer(Protocol):
    events: TextIO | None

    def render(self, spec: contracts.RenderSpec) -> contracts.Manifest: ...


def colour_specs(spec: contracts.RenderSpec) -> list[contracts.RenderSpec]:
    """One one-colour spec per colour of ``spec``, each into its colour's folder."""
    specs = []
    for color in spec.all_colors:
        data = spec.to_dict()
        data.pop("colors", None)
        folder = Path(spec.output_dir) / job_colors.color_dir(color)
        data.update(color=color, output_dir=str(folder))
        specs.append(contracts.RenderSpec.from_dict(data))
    return specs


class JobProgress:
    """The events stream one colour's render writes to, turned into the whole job's progress:
    counts offset by the colours before it and totals of all colours, items named with their
    colour's folder, and only the job's own start and end (`starting` of a later colour reads
    `compositing`, `done` of any colour `rendering`: the job's `done` follows its manifest)."""

    def __init__(self, stream: TextIO, spec: contracts.RenderSpec, index: int,
                 started: float) -> None:
        self.stream = stream
        self.spec = spec
        self.index = index
        self.started = started
        self.images = len(spec.angles)
        self.frames = _frames(spec)
        self.folder = job_colors.color_dir(spec.all_colors[index])
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            self.stream.write(self._scaled(line) + "\n")
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def _scaled(self, line: str) -> str:
        event = contracts.parse_event_line(line)
        if event is None:
            return line
        stage = event.stage
        if stage == "done":
            stage = "rendering"
        elif stage == "starting" and self.index > 0:
            stage = "compositing"
        count = len(self.spec.all_colors)
        scaled = replace(
            event, stage=stage, job_id=self.spec.job_id,
            images_done=self.index * self.images + event.images_done,
            images_total=count * self.images,
            frames_done=self.index * self.frames + event.frames_done,
            frames_total=count * self.frames,
            item=None if event.item is None else f"{self.folder}/{event.item}",
            elapsed_s=round(time.monotonic() - self.started, 3))
        return scaled.to_json_line().rstrip("\n")


def _frames(spec: contracts.RenderSpec) -> int:
    return spec.animation.frames if spec.animation.enabled else 0


def combine(spec: contracts.RenderSpec,
            manifests: Sequence[contracts.Manifest]) -> contracts.Manifest:
    """The job's manifest: every colour's outputs, named in its folder and by its colour;
    timings summed; the prints and their warnings (the same for every colour) once."""
    outputs: list[contracts.OutputFile] = []
    timings: dict[str, float] = {}
    for manifest in manifests:
        color = manifest.spec.color
        outputs += [replace(o, file=f"{job_colors.color_dir(color)}/{o.file}", color=color)
                    for o in manifest.outputs]
        for key, seconds in manifest.timings.items():
            timings[key] = round(timings.get(key, 0.0) + seconds, 3)
    first = manifests[0]
    return contracts.Manifest(
        spec=spec, blender_version=first.blender_version, outputs=tuple(outputs),
        timings=timings, created_at=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        device=first.device, design=first.design, warnings=first.warnings, prints=first.prints)


def render_colours(renderer: ColourRenderer, spec: contracts.RenderSpec) -> contracts.Manifest:
    """Render every colour of ``spec`` with ``renderer`` and write the job's manifest."""
    if not spec.colors:
        return renderer.render(spec)
    started = time.monotonic()
    files = JobFiles(spec.output_dir)
    files.prepare()
    remove_earlier_renders(files.directory)
    stream = renderer.events
    manifests = []
    try:
        for index, sub in enumerate(colour_specs(spec)):
            renderer.events = (None if stream is None
                               else JobProgress(stream, spec, index, started))
            manifests.append(renderer.render(sub))
    finally:
        renderer.events = stream
    manifest = combine(spec, manifests)
    files.write_text(contracts.MANIFEST_NAME, manifest.to_json())
    if stream is not None:
        count = len(spec.all_colors)
        stills, frames = count * len(spec.angles), count * _frames(spec)
        stream.write(contracts.ProgressEvent(
            stage="done", images_done=stills, images_total=stills, frames_done=frames,
            frames_total=frames, job_id=spec.job_id, item=contracts.MANIFEST_NAME,
            message=f"wrote {len(manifest.outputs)} files of {count} colours to "
                    f"{files.directory}",
            elapsed_s=round(time.monotonic() - started, 3)).to_json_line())
        stream.flush()
    return manifest
