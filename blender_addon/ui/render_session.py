"""The one render that may run, bound to its scene, and the finished images in Blender.

``start_render`` builds the RenderSpec from ``Scene.tshirt`` and starts the child (see
``core.render_job``); ``RenderSession.step`` applies what it reported, from the render
operator's modal timer or a script's wait loop. Result images are loaded and shown here for
the local render and the service's jobs alike. After a render the stills are in
``bpy.data.images`` as ``tshirt_<angle>`` and listed in ``scene.tshirt.results``;
``scene.tshirt.last_output_dir`` is the folder.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from pathlib import Path

import bpy

from .._shared import angles, child_process, errors
from ..core import panel_logic, render_job
from . import preferences

_log = logging.getLogger(__name__)

RESULT_IMAGE_PREFIX = "tshirt_"


class RenderSession:
    """A running child render bound to a scene."""

    def __init__(self, scene_name: str, job: render_job.RenderJob) -> None:
        self.scene_name = scene_name
        self.job = job

    @property
    def run(self) -> child_process.ChildRun:
        return self.job.run

    def settings(self):
        scene = bpy.data.scenes.get(self.scene_name)
        return scene.tshirt if scene is not None else None

    def step(self) -> child_process.Outcome | None:
        """Apply what the child reported since the last step; the outcome once it has ended."""
        settings = self.settings()
        for event in self.run.poll():
            if settings is not None:
                settings.render_progress = render_job.progress_fraction(event)
                settings.render_stage = render_job.stage_text(event)
        outcome = self.run.outcome
        if outcome is not None and settings is not None:
            self._apply_outcome(settings, outcome)
        return outcome

    def cancel(self) -> None:
        self.run.cancel()

    def _apply_outcome(self, settings, outcome: child_process.Outcome) -> None:
        error = outcome.error()
        spec = self.job.spec
        if error is None:
            settings.render_state = "DONE"
            settings.render_progress = 1.0
            settings.render_stage = "Done"
            settings.last_output_dir = spec.output_dir
            count = load_results(settings, spec.output_dir, spec.angles)
            settings.render_message = f"Rendered {count} image(s) to {spec.output_dir}."
        elif isinstance(error, errors.RenderCancelled):
            settings.render_state = "CANCELLED"
            settings.render_stage = "Cancelled"
            settings.render_message = error.message
        else:
            settings.render_state = "FAILED"
            settings.render_stage = "Failed"
            settings.render_message = error.message
            _log.error("render failed (exit %s): %s\n%s", outcome.returncode, error.message,
                       "\n".join(outcome.stderr_tail))


_session: RenderSession | None = None


def active_session() -> RenderSession | None:
    return _session


def end_session() -> None:
    """Stop the render if it still runs (never leave a child behind) and forget it."""
    global _session
    if _session is not None:
        _session.job.close()
    _session = None


def start_render(context: bpy.types.Context, *, resolution: int = 0, samples: int = 0,
                 frames: int = 0, output_dir: str = "") -> RenderSession:
    """Check the settings, start the child and make it the active session.

    Without ``output_dir`` each render gets a fresh folder inside the panel's output folder.
    """
    global _session
    if _session is not None:
        raise errors.InvalidInput("A render is already running; cancel it or wait for it.")
    settings = context.scene.tshirt
    prefs = preferences.get(context)
    base = settings.output_dir or (prefs.default_output_dir if prefs else "")
    job_prints = [item.spec() for item in settings.prints]
    if output_dir:
        folder = Path(bpy.path.abspath(output_dir))
    else:  # named by the product, else by the first print's design
        folder = panel_logic.output_folder(bpy.path.abspath(base) if base else "",
                                           settings.product_id,
                                           job_prints[0].design if job_prints else "")
    spec = panel_logic.build_spec(
        job_prints=job_prints,
        color=settings.color_hex,
        template=settings.template,
        quality_name=settings.quality,
        angle_flags=tuple(settings.angles),
        animation=settings.animation,
        frames=frames or settings.frames,
        background=panel_logic.background_value(settings.background, settings.background_color),
        output_dir=folder,
        product_id=settings.product_id,
        resolution=resolution,
        samples=samples,
    )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise errors.InvalidInput(
            f"Cannot create the output folder {folder}: {exc.strerror or exc}.",
            code="output_not_writable",
        ) from exc
    binary = (prefs.blender_binary if prefs else "") or bpy.app.binary_path
    job = render_job.start(spec, blender_binary=bpy.path.abspath(binary) if binary else "")
    _session = RenderSession(context.scene.name, job)
    settings.render_state = "RUNNING"
    settings.render_progress = 0.0
    settings.render_stage = "Starting"
    settings.render_message = ""
    settings.results.clear()
    settings.sync_state = "IDLE"
    settings.sync_message = settings.sync_job_id = settings.sync_push = ""
    return _session


# ---------------------------------------------------------------------------------------------
# result images


def load_image(path: str | Path, name: str) -> bpy.types.Image | None:
    """The file as the Blender image ``name`` (replacing an older one of that name)."""
    old = bpy.data.images.get(name)
    if old is not None:
        bpy.data.images.remove(old)
    try:
        image = bpy.data.images.load(str(path), check_existing=False)
    except RuntimeError as exc:
        _log.warning("could not load %s: %s", path, exc)
        return None
    image.name = name
    return image


def load_results(settings, output_dir: str, wanted: Iterable[str]) -> int:
    """Load the finished stills as ``tshirt_<angle>`` images and list them in the panel."""
    settings.results.clear()
    files = render_job.still_files(output_dir, wanted)
    for angle_id in angles.STILL_IDS:  # a neck label's close-up after the six views
        path = files.get(angle_id)
        image = load_image(path, RESULT_IMAGE_PREFIX + angle_id) if path else None
        if image is None:
            continue
        with contextlib.suppress(RuntimeError):  # no previews without a UI
            image.preview_ensure()
        item = settings.results.add()
        item.angle = angle_id
        item.label = angles.get_angle(angle_id).label
        item.image = image
    return len(settings.results)


def load_job_images(job_id: str, files: Iterable[str]) -> list[bpy.types.Image]:
    """A service job's downloaded stills as ``tshirt_<job>_<name>`` images."""
    images = (load_image(path, f"{RESULT_IMAGE_PREFIX}{job_id}_{Path(path).stem}")
              for path in files)
    return [image for image in images if image is not None]


def _image_editor_shows(image: bpy.types.Image) -> bool:
    wm = bpy.context.window_manager
    for window in wm.windows if wm else ():
        for area in window.screen.areas:
            if area.type == "IMAGE_EDITOR":
                area.spaces.active.image = image
                return True
    return False


def show_image(image: bpy.types.Image) -> bool:
    """Show the image in an Image Editor if the UI has one (or can open one)."""
    if _image_editor_shows(image):
        return True
    wm = bpy.context.window_manager
    for window in wm.windows if wm else ():
        try:
            with bpy.context.temp_override(window=window):
                bpy.ops.render.view_show("INVOKE_DEFAULT")
        except RuntimeError as exc:
            _log.debug("no image editor: %s", exc)
            return False
        if _image_editor_shows(image):
            return True
    return False


def redraw(*area_types: str) -> None:
    """Tag the UI's areas of these types for a redraw (our properties changed off-screen)."""
    wm = bpy.context.window_manager
    for window in wm.windows if wm else ():
        for area in window.screen.areas:
            if area.type in area_types:
                area.tag_redraw()


# ---------------------------------------------------------------------------------------------
# handlers


@bpy.app.handlers.persistent
def _on_load_pre(*_args) -> None:
    """A new file: stop our render (its scene is going away) and forget it."""
    end_session()


@bpy.app.handlers.persistent
def _on_load_post(*_args) -> None:
    """A file saved mid-render must not reopen showing a render that is not running."""
    for scene in bpy.data.scenes:
        settings = getattr(scene, "tshirt", None)
        if settings is not None and settings.render_state == "RUNNING":
            settings.render_state = "IDLE"


_HANDLERS = ((bpy.app.handlers.load_pre, _on_load_pre),
             (bpy.app.handlers.load_post, _on_load_post))


def register() -> None:
    for handlers, handler in _HANDLERS:
        handlers.append(handler)


def unregister() -> None:
    end_session()  # a render outliving its add-on would be an orphan
    for handlers, handler in _HANDLERS:
        while handler in handlers:
            handlers.remove(handler)
