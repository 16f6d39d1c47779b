"""The renderer core: one validated RenderSpec in, its stills (the views it asks for and the
close-ups its prints add), a turntable and a manifest out.

The scene is built once per process (per template) and reused by every job, colour and batch
row that follows; a job only changes node values (colour, prints, background) and the camera
(a job with more or fewer prints than the one before adds or removes a print's nodes). Progress
goes out as JSON lines (`shared.contracts.ProgressEvent`) on a stream.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TextIO

import bpy

from .._shared import angles, colors, contracts, templates
from ..core import manifest_writer, output_folder
from ..core.jobfiles import JobFiles
from ..core.planning import JobPlan, plan_job
from . import bake, closeup, cycles_setup, materials, shots, studio, turntable
from .scene import ShirtScene, build_scene

_log = logging.getLogger(__name__)


class Reporter:
    """Writes progress events for one job."""

    def __init__(self, stream: TextIO | None, job_id: str | None = None) -> None:
        self.stream = stream
        self.job_id = job_id
        self.started = time.monotonic()
        self.images_total = 0
        self.frames_total = 0
        self.images_done = 0
        self.frames_done = 0

    def emit(self, stage: str, message: str = "", item: str | None = None) -> None:
        if self.stream is None:
            return
        event = contracts.ProgressEvent(
            stage=stage, images_done=self.images_done, images_total=self.images_total,
            frames_done=self.frames_done, frames_total=self.frames_total, message=message,
            item=item, job_id=self.job_id,
            elapsed_s=round(time.monotonic() - self.started, 3),
        )
        self.stream.write(event.to_json_line())
        self.stream.flush()


class Renderer:
    """Renders jobs in this process, reusing the built scene between them."""

    def __init__(self, *, allow_gpu: bool = True, events: TextIO | None = sys.stdout,
                 templates_root: Path | None = None, turntable_method: str = "auto") -> None:
        self.allow_gpu = allow_gpu
        self.events = events
        self.templates_root = templates_root
        self.turntable_method = turntable_method
        self.current_files: JobFiles | None = None
        self.current_reporter: Reporter | None = None
        self._shirt: ShirtScene | None = None
        #: the template the scene was built from: its id and folder (two folders may share an id)
        self._template_key: tuple[str, Path] | None = None
        self._device: cycles_setup.Device | None = None

    # -- scene ----------------------------------------------------------------------------
    def _scene_for(self, template: templates.Template) -> tuple[ShirtScene, bool]:
        key = (template.id, template.directory)
        if self._shirt is None or self._template_key != key:
            bpy.context.preferences.filepaths.use_scripts_auto_execute = False
            self._shirt = build_scene(template)
            self._template_key = key
            bake.forget_cache()
            return self._shirt, True
        return self._shirt, False

    # -- job ------------------------------------------------------------------------------
    def render(self, spec: contracts.RenderSpec) -> contracts.Manifest:
        timings: dict[str, float] = {}
        t0 = time.monotonic()
        reporter = Reporter(self.events, spec.job_id)
        self.current_reporter = reporter
        reporter.images_total = len(spec.angles)
        reporter.frames_total = spec.animation.frames if spec.animation.enabled else 0
        reporter.emit("starting", "validating the inputs")
        plan = plan_job(spec, self.templates_root)
        reporter.images_total = len(plan.angles)  # with the close-ups the prints add
        files = JobFiles(spec.output_dir)
        files.prepare()
        # the folder is this job's: an earlier render's files would sit beside a manifest that
        # does not list them
        output_folder.remove_earlier_renders(files.directory)
        self.current_files = files
        try:
            manifest = self._render(plan, files, reporter, timings, t0)
        except BaseException:
            files.remove_all()
            raise
        finally:
            self.current_files = None
        return manifest

    def _render(self, plan: JobPlan, files: JobFiles, reporter: Reporter,
                timings: dict[str, float], t0: float) -> contracts.Manifest:
        spec = plan.spec
        timings["validate"] = time.monotonic() - t0

        t = time.monotonic()
        reporter.emit("compositing", "building the scene")
        shirt, built = self._scene_for(plan.template)
        scene = shirt.scene
        if self._device is None:
            self._device = cycles_setup.detect_device(scene, allow_gpu=self.allow_gpu)
        shirt.clear_turntable()
        shirt.set_color(colors.parse_color(spec.color).linear)
        shirt.set_prints([(placed.spec.design, placed) for placed in plan.prints])
        if spec.background in ("transparent", "studio"):
            shirt.set_background(spec.background)
        else:
            shirt.set_background("color", colors.parse_color(spec.background).linear)
        timings["build" if built else "setup"] = time.monotonic() - t

        outputs: list[contracts.OutputFile] = []
        t = time.monotonic()
        cycles_setup.configure(scene, plan.still, self._device)
        materials.set_knit_detail(shirt.material, plan.still.resolution)
        shots.use_png(scene)
        reporter.emit("rendering", f"rendering {len(plan.angles)} stills")
        for angle_id in plan.angles:
            name = f"{angle_id}.png"
            temp = files.temp(name)
            with _aimed(shirt, angles.get_angle(angle_id), plan):
                shots.render_still(scene, temp)
            path = files.commit(temp, name)
            outputs.append(manifest_writer.describe(path, "still", angle=angle_id))
            reporter.images_done += 1
            reporter.emit("rendering", f"rendered {angle_id}", item=name)
        timings["stills"] = time.monotonic() - t

        if spec.animation.enabled:
            outputs += turntable.render_turntable(
                shirt, spec, plan.frames, self._device, files, reporter, timings,
                method=self.turntable_method)
            shirt.aim_camera(0.0)

        t = time.monotonic()
        timings["total"] = time.monotonic() - t0
        manifest = manifest_writer.build_manifest(
            spec, bpy.app.version_string, outputs, timings, self._device.label, plan)
        files.write_text(contracts.MANIFEST_NAME, manifest.to_json())
        reporter.emit("done", f"wrote {len(outputs)} files to {files.directory}",
                      item=contracts.MANIFEST_NAME)
        return manifest


def _aimed(shirt: ShirtScene, angle: angles.Angle, plan: JobPlan) -> AbstractContextManager[None]:
    """The camera on ``angle`` for one still: a view turns the rig (and crops a transparent
    film to the shirt); a close-up moves the camera only while its still renders."""
    if angle.closeup_of is not None:
        return closeup.camera_on(shirt, angle, plan.prints)
    shirt.aim_camera(angle.azimuth_deg)
    studio.crop_to_subject(shirt.scene, shirt.shirt)
    return contextlib.nullcontext()
