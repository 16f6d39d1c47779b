"""Thin operators: read ``Scene.tshirt``, hand it to the plain-Python core, report once.

Scripting (``bpy.ops.tshirt.*``)::

    bpy.ops.tshirt.setup_preview()          # build the shirt in the current scene
    bpy.ops.tshirt.set_color_swatch(hex="#1f2a44")
    bpy.ops.tshirt.render(wait=True)         # render with the panel's settings, block until done
    bpy.ops.tshirt.render(wait=True, resolution=256, samples=4, frames=12)  # quick overrides
    bpy.ops.tshirt.render(wait=True, output_dir="//renders/navy")  # exactly this folder
    bpy.ops.tshirt.render('INVOKE_DEFAULT')  # in the UI: background render with progress
    bpy.ops.tshirt.cancel_render()
    bpy.ops.tshirt.open_output_folder()
    # sending to the store, the farm and the job history: see ``service_ops``

``render`` runs the headless CLI as a child process (see ``render_job``); only one render runs
at a time. After it the stills are in ``bpy.data.images`` as ``tshirt_<angle>`` and listed in
``scene.tshirt.results``; ``scene.tshirt.last_output_dir`` is the folder.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from pathlib import Path

import bpy
from bpy.props import BoolProperty, IntProperty, StringProperty
from bpy_extras.io_utils import ImportHelper

from .._shared import angles, errors
from ..core import panel_logic, render_job
from . import preferences, preview

_log = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # the add-on package, which holds cli.py
TIMER_INTERVAL_S = 0.2
RESULT_IMAGE_PREFIX = "tshirt_"


# ---------------------------------------------------------------------------------------------
# the one render that may run


class RenderSession:
    """A running child render bound to a scene; stepped by a modal timer or a wait loop."""

    def __init__(self, scene_name: str, job: render_job.RenderJob,
                 request: render_job.RenderRequest) -> None:
        self.scene_name = scene_name
        self.job = job
        self.request = request

    def settings(self):
        scene = bpy.data.scenes.get(self.scene_name)
        return scene.tshirt if scene is not None else None

    def step(self) -> render_job.Finished | None:
        """Apply what the child reported since the last step; the result once it has ended."""
        settings = self.settings()
        for message in self.job.poll():
            if isinstance(message, render_job.Progress) and settings is not None:
                settings.render_progress = render_job.progress_fraction(message.event)
                settings.render_stage = render_job.stage_text(message.event)
        finished = self.job.finished
        if finished is not None and settings is not None:
            self._apply_result(settings, finished)
        return finished

    def cancel(self) -> None:
        self.job.cancel()

    def close(self) -> None:
        self.job.close()

    def _apply_result(self, settings, finished: render_job.Finished) -> None:
        error = finished.error()
        if error is None:
            settings.render_state = "DONE"
            settings.render_progress = 1.0
            settings.render_stage = "Done"
            settings.last_output_dir = self.request.output_dir
            count = load_results(settings, self.request.output_dir, self.request.angles)
            settings.render_message = f"Rendered {count} image(s) to {self.request.output_dir}."
        elif isinstance(error, errors.RenderCancelled):
            settings.render_state = "CANCELLED"
            settings.render_stage = "Cancelled"
            settings.render_message = error.message
        else:
            settings.render_state = "FAILED"
            settings.render_stage = "Failed"
            settings.render_message = error.message
            _log.error("render failed (exit %s): %s\n%s", finished.returncode, error.message,
                       "\n".join(finished.stderr_tail))


_session: RenderSession | None = None


def active_session() -> RenderSession | None:
    return _session


def _end_session() -> None:
    global _session
    if _session is not None:
        _session.close()
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
    design = bpy.path.abspath(settings.design_path) if settings.design_path else ""
    if output_dir:
        folder = Path(bpy.path.abspath(output_dir))
    else:
        folder = panel_logic.output_folder(bpy.path.abspath(base) if base else "",
                                           settings.product_id, design)
    request = panel_logic.build_request(
        design=design,
        preset=settings.preset,
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
    command = render_job.child_command(request.cli_args(), package_dir=PACKAGE_DIR,
                                       blender_binary=bpy.path.abspath(binary) if binary else "")
    job = render_job.RenderJob(command).start()
    _session = RenderSession(context.scene.name, job, request)
    settings.render_state = "RUNNING"
    settings.render_progress = 0.0
    settings.render_stage = "Starting"
    settings.render_message = ""
    settings.results.clear()
    settings.sync_state = "IDLE"
    settings.sync_message = settings.sync_job_id = settings.sync_push = ""
    return _session


def load_results(settings, output_dir: str, wanted: tuple[str, ...]) -> int:
    """Load the finished stills as ``tshirt_<angle>`` images and list them in the panel."""
    settings.results.clear()
    labels = dict(panel_logic.angle_choices())
    files = render_job.still_files(output_dir, wanted)
    for angle_id in angles.ANGLE_IDS:
        path = files.get(angle_id)
        if path is None:
            continue
        name = RESULT_IMAGE_PREFIX + angle_id
        old = bpy.data.images.get(name)
        if old is not None:
            bpy.data.images.remove(old)
        try:
            image = bpy.data.images.load(str(path), check_existing=False)
        except RuntimeError as exc:
            _log.warning("could not load %s: %s", path, exc)
            continue
        image.name = name
        with contextlib.suppress(RuntimeError):  # no previews without a UI
            image.preview_ensure()
        item = settings.results.add()
        item.angle = angle_id
        item.label = labels.get(angle_id, angle_id)
        item.image = image
    return len(settings.results)


def _redraw(context: bpy.types.Context) -> None:
    wm = context.window_manager
    for window in wm.windows if wm else ():
        for area in window.screen.areas:
            if area.type == "VIEW_3D":
                area.tag_redraw()


def _report_finished(op: bpy.types.Operator, session: RenderSession,
                     finished: render_job.Finished) -> set[str]:
    error = finished.error()
    if error is None:
        settings = session.settings()
        op.report({"INFO"}, settings.render_message if settings else "Render finished.")
        return {"FINISHED"}
    if isinstance(error, errors.RenderCancelled):
        op.report({"WARNING"}, "Render cancelled.")
    else:
        op.report({"ERROR"}, f"Render failed: {error.message}")
    return {"CANCELLED"}


# ---------------------------------------------------------------------------------------------
# operators


class TSHIRT_OT_setup_preview(bpy.types.Operator):
    """Build the shirt in the current scene; from then on the panel's changes show at once"""

    bl_idname = "tshirt.setup_preview"
    bl_label = "Set Up Preview"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context: bpy.types.Context) -> set[str]:
        settings = context.scene.tshirt
        if settings.design_path and settings.design_error:
            self.report({"WARNING"}, f"Design not shown: {settings.design_error}")
        try:
            preview.setup(context, settings)
        except errors.TshirtError as exc:
            self.report({"ERROR"}, exc.message)
            return {"CANCELLED"}
        except ValueError as exc:
            _log.exception("preview failed")
            self.report({"ERROR"}, f"The preview could not be built: {exc}")
            return {"CANCELLED"}
        self.report({"INFO"}, "Preview ready: use Material Preview to judge the placement.")
        return {"FINISHED"}


class TSHIRT_OT_choose_design(bpy.types.Operator, ImportHelper):
    """Choose the design image (PNG or JPEG)"""

    bl_idname = "tshirt.choose_design"
    bl_label = "Choose Design"
    bl_options = {"REGISTER", "UNDO"}

    filter_glob: StringProperty(  # type: ignore[valid-type]
        default="*.png;*.jpg;*.jpeg", options={"HIDDEN"},
    )

    def execute(self, context: bpy.types.Context) -> set[str]:
        settings = context.scene.tshirt
        settings.design_path = self.filepath
        if settings.design_error:
            self.report({"ERROR"}, settings.design_error)
            return {"CANCELLED"}
        return {"FINISHED"}


class TSHIRT_OT_render(bpy.types.Operator):
    """Render the product images in the background with the panel's settings"""

    bl_idname = "tshirt.render"
    bl_label = "Render Product Images"
    bl_options = {"REGISTER"}

    wait: BoolProperty(  # type: ignore[valid-type]
        name="Wait",
        description="Block until the render ends (scripts); without a window this is implied",
        default=False,
    )
    resolution: IntProperty(  # type: ignore[valid-type]
        name="Resolution", description="Still size in pixels (0: the quality level's)",
        default=0, min=0, max=8192,
    )
    samples: IntProperty(  # type: ignore[valid-type]
        name="Samples", description="Render samples (0: the quality level's)",
        default=0, min=0, max=4096,
    )
    frames: IntProperty(  # type: ignore[valid-type]
        name="Frames", description="Turntable frames (0: the panel's)", default=0, min=0,
        max=1000,
    )
    output_dir: StringProperty(  # type: ignore[valid-type]
        name="Output Folder",
        description="Render exactly into this folder (empty: a new folder per render)",
        subtype="DIR_PATH", default="",
    )

    _timer = None

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return _session is None and context.scene is not None

    def _start(self, context: bpy.types.Context) -> RenderSession | None:
        try:
            return start_render(context, resolution=self.resolution, samples=self.samples,
                                frames=self.frames, output_dir=self.output_dir)
        except errors.TshirtError as exc:
            self.report({"ERROR"}, exc.message)
            return None

    def invoke(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        if self.wait or context.window is None:
            return self.execute(context)
        session = self._start(context)
        if session is None:
            return {"CANCELLED"}
        wm = context.window_manager
        self._timer = wm.event_timer_add(TIMER_INTERVAL_S, window=context.window)
        wm.modal_handler_add(self)
        self.report({"INFO"}, "Rendering in the background; Esc or Cancel stops it.")
        return {"RUNNING_MODAL"}

    def execute(self, context: bpy.types.Context) -> set[str]:
        if not self.wait and context.window is not None:
            return self.invoke(context, None)
        session = self._start(context)
        if session is None:
            return {"CANCELLED"}
        try:
            finished = self._wait(session)
            return _report_finished(self, session, finished)
        finally:
            _end_session()

    @staticmethod
    def _wait(session: RenderSession) -> render_job.Finished:
        while True:
            finished = session.step()
            if finished is not None:
                return finished
            time.sleep(0.05)

    def modal(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        session = _session
        if session is None:  # cleaned up elsewhere (add-on disabled, file loaded)
            self._remove_timer(context)
            return {"CANCELLED"}
        if event.type == "ESC" and event.value == "PRESS":
            session.cancel()
            return {"RUNNING_MODAL"}
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        try:
            finished = session.step()
        except Exception:
            _log.exception("render progress failed")
            self.cancel(context)
            self.report({"ERROR"}, "The render stopped unexpectedly; see the console.")
            return {"CANCELLED"}
        _redraw(context)
        if finished is None:
            return {"PASS_THROUGH"}
        self._remove_timer(context)
        _end_session()
        return _report_finished(self, session, finished)

    def cancel(self, context: bpy.types.Context) -> None:
        """Blender ends the modal (file load, quit): never leave a child behind."""
        self._remove_timer(context)
        if _session is not None:
            _session.cancel()
        _end_session()

    def _remove_timer(self, context: bpy.types.Context) -> None:
        if self._timer is not None:
            context.window_manager.event_timer_remove(self._timer)
            self._timer = None


class TSHIRT_OT_cancel_render(bpy.types.Operator):
    """Stop the running render"""

    bl_idname = "tshirt.cancel_render"
    bl_label = "Cancel Render"

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return _session is not None

    def execute(self, context: bpy.types.Context) -> set[str]:
        if _session is not None:
            _session.cancel()
        self.report({"INFO"}, "Cancelling the render.")
        return {"FINISHED"}


class TSHIRT_OT_open_output_folder(bpy.types.Operator):
    """Open the last render's folder in the file browser"""

    bl_idname = "tshirt.open_output_folder"
    bl_label = "Open Output Folder"

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        scene = context.scene
        return scene is not None and os.path.isdir(scene.tshirt.last_output_dir)

    def execute(self, context: bpy.types.Context) -> set[str]:
        folder = context.scene.tshirt.last_output_dir
        bpy.ops.wm.path_open(filepath=folder)
        self.report({"INFO"}, f"Opened {folder}.")
        return {"FINISHED"}


class TSHIRT_OT_set_color_swatch(bpy.types.Operator):
    """Use this shirt colour"""

    bl_idname = "tshirt.set_color_swatch"
    bl_label = "Shirt Colour"
    bl_options = {"REGISTER", "UNDO", "INTERNAL"}

    hex: StringProperty(name="Colour", default="#ffffff")  # type: ignore[valid-type]

    @classmethod
    def description(cls, context: bpy.types.Context, properties) -> str:
        names = {code: name for name, code in panel_logic.swatches()}
        return f"Shirt colour: {names.get(properties.hex, properties.hex)}"

    def execute(self, context: bpy.types.Context) -> set[str]:
        try:
            panel_logic.srgb_from_text(self.hex)
        except errors.InvalidInput as exc:
            self.report({"ERROR"}, exc.message)
            return {"CANCELLED"}
        context.scene.tshirt.color_hex = self.hex
        return {"FINISHED"}


class TSHIRT_OT_show_result(bpy.types.Operator):
    """Show this render in an Image Editor"""

    bl_idname = "tshirt.show_result"
    bl_label = "Show Image"
    bl_options = {"INTERNAL"}

    image_name: StringProperty()  # type: ignore[valid-type]

    def execute(self, context: bpy.types.Context) -> set[str]:
        image = bpy.data.images.get(self.image_name)
        if image is None:
            self.report({"ERROR"}, "That image is no longer loaded; render again.")
            return {"CANCELLED"}
        screen = getattr(context, "screen", None)
        for area in screen.areas if screen else ():
            if area.type == "IMAGE_EDITOR":
                area.spaces.active.image = image
                return {"FINISHED"}
        bpy.ops.render.view_show("INVOKE_DEFAULT")
        for window in context.window_manager.windows:
            for area in window.screen.areas:
                if area.type == "IMAGE_EDITOR":
                    area.spaces.active.image = image
                    return {"FINISHED"}
        self.report({"INFO"}, f"{image.name} is in the Image Editor's image list.")
        return {"FINISHED"}


# ---------------------------------------------------------------------------------------------
# handlers


@bpy.app.handlers.persistent
def _on_load_pre(*_args) -> None:
    """A new file: stop our render (its scene is going away) and forget it."""
    if _session is not None:
        _session.cancel()
    _end_session()


@bpy.app.handlers.persistent
def _on_load_post(*_args) -> None:
    """A file saved mid-render must not reopen showing a render that is not running."""
    for scene in bpy.data.scenes:
        settings = getattr(scene, "tshirt", None)
        if settings is not None and settings.render_state == "RUNNING":
            settings.render_state = "IDLE"


classes = (
    TSHIRT_OT_setup_preview,
    TSHIRT_OT_choose_design,
    TSHIRT_OT_render,
    TSHIRT_OT_cancel_render,
    TSHIRT_OT_open_output_folder,
    TSHIRT_OT_set_color_swatch,
    TSHIRT_OT_show_result,
)
_register_classes, _unregister_classes = bpy.utils.register_classes_factory(classes)


def register() -> None:
    _register_classes()
    bpy.app.handlers.load_pre.append(_on_load_pre)
    bpy.app.handlers.load_post.append(_on_load_post)


def unregister() -> None:
    # a render outliving its add-on would be an orphan: stop it first
    if _session is not None:
        _session.cancel()
    _end_session()
    for handlers, handler in ((bpy.app.handlers.load_pre, _on_load_pre),
                              (bpy.app.handlers.load_post, _on_load_post)):
        while handler in handlers:
            handlers.remove(handler)
    _unregister_classes()
