"""The renderer core: one validated RenderSpec in, six stills, a turntable and a manifest out.

The scene is built once per process (per template) and reused by every job, colour and batch
row that follows; a job only changes node values (colour, design, placement, background) and the
camera. Progress goes out as JSON lines (`shared.contracts.ProgressEvent`) on a stream.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import bpy

from .._shared import angles, colors, contracts, errors, presets, quality, templates, validation
from ..core import manifest_writer
from ..core.jobfiles import JobFiles
from . import cycles_setup, studio, turntable

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


@dataclass(frozen=True)
class JobPlan:
    """Everything derived from the spec before Blender does any work."""

    spec: contracts.RenderSpec
    design: validation.DesignInfo
    placement: presets.Placement
    template: templates.Template
    still: cycles_setup.RenderSettings
    frames: cycles_setup.RenderSettings


def _even(value: float) -> int:
    return max(16, int(round(value / 2.0)) * 2)


def render_settings(spec: contracts.RenderSpec) -> tuple[cycles_setup.RenderSettings,
                                                         cycles_setup.RenderSettings]:
    """Stills and turntable settings: the quality level, with the spec's overrides applied to
    the stills and scaled in proportion for the frames."""
    level = quality.get_quality(spec.quality)
    res = spec.resolution or level.resolution
    spp = spec.samples or level.samples
    still = cycles_setup.RenderSettings(res, spp, level.adaptive_threshold, level.denoise,
                                        level.max_bounces)
    frame_res = _even(res * level.animation_resolution / level.resolution)
    frame_spp = max(1, round(spp * level.animation_samples / level.samples))
    frames = cycles_setup.RenderSettings(frame_res, frame_spp, level.adaptive_threshold,
                                         level.denoise, level.max_bounces)
    return still, frames


def find_template(template_id: str, root: Path | None = None) -> templates.Template:
    found = templates.discover_templates(root or templates.default_templates_root())
    try:
        return found[template_id]
    except KeyError:
        raise errors.InvalidInput(
            f"Unknown template {template_id!r}; available: {', '.join(sorted(found)) or 'none'}.",
            code="unknown_template") from None


def plan_job(spec: contracts.RenderSpec, templates_root: Path | None = None) -> JobPlan:
    """Validate the inputs in the order a user fixes them: design, template, preset."""
    design = validation.inspect_design_file(spec.design)
    template = find_template(spec.template, templates_root)
    if spec.preset not in template.supported_presets:
        raise errors.InvalidInput(
            f"Template {template.id!r} does not support preset {spec.preset!r}.",
            code="unknown_preset")
    placement = presets.fit_design(spec.preset, design.width, design.height)
    still, frames = render_settings(spec)
    return JobPlan(spec, design, placement, template, still, frames)


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
        self._shirt = None
        self._template_id: str | None = None
        self._device: cycles_setup.Device | None = None

    # -- scene ----------------------------------------------------------------------------
    def _scene_for(self, template: templates.Template):
        from . import scene as scene_builder  # imports bpy-heavy modules only when rendering

        if self._shirt is None or self._template_id != template.id:
            bpy.context.preferences.filepaths.use_scripts_auto_execute = False
            self._shirt = scene_builder.build_scene(template)
            self._template_id = template.id
            turntable.forget_cache()
            return self._shirt, True
        return self._shirt, False

    def _load_design(self, path: str) -> None:
        """Decode the design once here: a PNG header followed by garbage passes the header
        check but must fail as a corrupt image, not as a pink texture in the render."""
        image = bpy.data.images.load(str(Path(path).absolute()), check_existing=False)
        try:
            ok = image.size[0] > 0 and image.size[1] > 0 and image.has_data
        finally:
            bpy.data.images.remove(image)
        if not ok:
            raise errors.InvalidInput(f"The design image {Path(path).name} cannot be decoded.",
                                      code="corrupt_image")

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
        files = JobFiles(spec.output_dir)
        files.prepare()
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
        self._load_design(spec.design)
        shirt, built = self._scene_for(plan.template)
        scene = shirt.scene
        if self._device is None:
            self._device = cycles_setup.detect_device(scene, allow_gpu=self.allow_gpu)
        shirt.clear_turntable()
        shirt.set_color(colors.parse_color(spec.color).linear)
        from .scene import PrintPlacement

        shirt.set_design(spec.design, PrintPlacement(plan.placement.side,
                                                     plan.placement.box.as_tuple()))
        if spec.background in ("transparent", "studio"):
            shirt.set_background(spec.background)
        else:
            shirt.set_background("color", colors.parse_color(spec.background).linear)
        timings["build" if built else "setup"] = time.monotonic() - t

        outputs: list[contracts.OutputFile] = []
        t = time.monotonic()
        cycles_setup.configure(scene, plan.still, self._device)
        scene.render.image_settings.media_type = "IMAGE"
        scene.render.image_settings.file_format = "PNG"
        scene.render.image_settings.color_mode = "RGBA"
        scene.render.image_settings.color_depth = "8"
        scene.render.image_settings.compression = 15
        reporter.emit("rendering", f"rendering {len(spec.angles)} stills")
        for angle_id in spec.angles:
            shirt.aim_camera(angles.get_angle(angle_id).azimuth_deg)
            studio.crop_to_subject(scene, shirt.shirt)
            name = f"{angle_id}.png"
            temp = files.temp(name)
            render_still(scene, temp)
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
            spec, bpy.app.version_string, outputs, timings, self._device.label)
        files.write_text(contracts.MANIFEST_NAME, manifest.to_json())
        reporter.emit("done", f"wrote {len(outputs)} files to {files.directory}",
                      item=contracts.MANIFEST_NAME)
        return manifest


def render_still(scene: bpy.types.Scene, path: Path) -> None:
    """Render the scene's camera and save the result (view transform applied) to `path`."""
    try:
        bpy.ops.render.render(write_still=False, scene=scene.name)
        result = bpy.data.images.get("Render Result")
        if result is None:
            raise errors.RenderFailed("Blender produced no render result.")
        result.save_render(filepath=str(path), scene=scene)
    except RuntimeError as exc:
        raise errors.RenderFailed(f"Blender could not render: {exc}".strip()) from None
    if not path.is_file():
        raise errors.RenderFailed(f"Blender did not write {path.name}.")
