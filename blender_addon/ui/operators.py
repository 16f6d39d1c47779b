"""Thin operators: read ``Scene.tshirt``, hand it to the plain-Python core, report once.

Scripting (``bpy.ops.tshirt.*``)::

    bpy.ops.tshirt.setup_preview()          # build the shirt in the current scene
    bpy.ops.tshirt.print_add()               # a new print (scene.tshirt.prints), made active
    bpy.ops.tshirt.choose_design(filepath="/art/logo.png")  # the active print's design
    bpy.ops.tshirt.print_remove()            # the active print (or index=N)
    bpy.ops.tshirt.set_color_swatch(hex="#1f2a44")
    bpy.ops.tshirt.render(wait=True)         # render with the panel's settings, block until done
    bpy.ops.tshirt.render(wait=True, resolution=256, samples=4, frames=12)  # quick overrides
    bpy.ops.tshirt.render(wait=True, output_dir="//renders/navy")  # exactly this folder
    bpy.ops.tshirt.render('INVOKE_DEFAULT')  # in the UI: background render with progress
    bpy.ops.tshirt.cancel_render()
    bpy.ops.tshirt.open_output_folder()
    # sending to the store, the farm and the job history: see ``service_ops``

``render`` runs the headless CLI as a child process through ``render_session``, which holds
the one render that may run and its results.
"""

from __future__ import annotations

import logging
import os
import time

import bpy
from bpy.props import BoolProperty, IntProperty, StringProperty
from bpy_extras.io_utils import ImportHelper

from .._shared import child_process, errors, prints
from ..core import panel_logic
from . import preview
from .properties import active_print, add_print
from .render_session import (
    RenderSession,
    active_session,
    end_session,
    redraw,
    show_image,
    start_render,
)

_log = logging.getLogger(__name__)

TIMER_INTERVAL_S = 0.2


def _report_finished(op: bpy.types.Operator, session: RenderSession,
                     outcome: child_process.Outcome) -> set[str]:
    error = outcome.error()
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
        for number, item in enumerate(settings.prints, start=1):
            if item.design_path and item.design_error:
                self.report({"WARNING"}, f"Print {number} not shown: {item.design_error}")
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
    """Choose the design image (PNG or JPEG) of the selected print"""

    bl_idname = "tshirt.choose_design"
    bl_label = "Choose Design"
    bl_options = {"REGISTER", "UNDO"}

    filter_glob: StringProperty(  # type: ignore[valid-type]
        default="*.png;*.jpg;*.jpeg", options={"HIDDEN"},
    )

    def execute(self, context: bpy.types.Context) -> set[str]:
        settings = context.scene.tshirt
        item = active_print(settings)
        if item is None:  # the first design makes the first print
            item = add_print(settings)
        item.design_path = self.filepath
        if item.design_error:
            self.report({"ERROR"}, item.design_error)
            return {"CANCELLED"}
        return {"FINISHED"}


class TSHIRT_OT_print_add(bpy.types.Operator):
    """Add a print: another design at another placement (front, back, sleeves, neck label)"""

    bl_idname = "tshirt.print_add"
    bl_label = "Add Print"
    bl_options = {"REGISTER", "UNDO"}

    design: StringProperty(  # type: ignore[valid-type]
        name="Design", description="Its design file (empty: choose it later)",
        subtype="FILE_PATH", default="",
    )

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        scene = context.scene
        return scene is not None and len(scene.tshirt.prints) < prints.MAX_PRINTS

    def execute(self, context: bpy.types.Context) -> set[str]:
        settings = context.scene.tshirt
        try:
            item = add_print(settings, self.design)
        except errors.TshirtError as exc:
            self.report({"ERROR"}, exc.message)
            return {"CANCELLED"}
        preview.apply_design(settings)
        if item.design_error:
            self.report({"WARNING"}, item.design_error)
        return {"FINISHED"}


class TSHIRT_OT_print_remove(bpy.types.Operator):
    """Remove the selected print"""

    bl_idname = "tshirt.print_remove"
    bl_label = "Remove Print"
    bl_options = {"REGISTER", "UNDO"}

    index: IntProperty(  # type: ignore[valid-type]
        name="Print", description="Which print, from 0 (-1: the selected one)", default=-1,
        min=-1,
    )

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return context.scene is not None and len(context.scene.tshirt.prints) > 0

    def execute(self, context: bpy.types.Context) -> set[str]:
        settings = context.scene.tshirt
        index = settings.prints_index if self.index < 0 else self.index
        if not 0 <= index < len(settings.prints):
            self.report({"ERROR"}, f"There is no print {index + 1}.")
            return {"CANCELLED"}
        settings.prints.remove(index)
        if index < settings.prints_index:  # the selection stays on the same print
            settings.prints_index -= 1
        settings.prints_index = max(0, min(settings.prints_index, len(settings.prints) - 1))
        preview.apply_design(settings)
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
        return active_session() is None and context.scene is not None

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
            return _report_finished(self, session, self._wait(session))
        finally:
            end_session()

    @staticmethod
    def _wait(session: RenderSession) -> child_process.Outcome:
        while True:
            outcome = session.step()
            if outcome is not None:
                return outcome
            time.sleep(0.05)

    def modal(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        session = active_session()
        if session is None:  # cleaned up elsewhere (add-on disabled, file loaded)
            self._remove_timer(context)
            return {"CANCELLED"}
        if event.type == "ESC" and event.value == "PRESS":
            session.cancel()
            return {"RUNNING_MODAL"}
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        try:
            outcome = session.step()
        except Exception:
            _log.exception("render progress failed")
            self.cancel(context)
            self.report({"ERROR"}, "The render stopped unexpectedly; see the console.")
            return {"CANCELLED"}
        redraw("VIEW_3D")
        if outcome is None:
            return {"PASS_THROUGH"}
        self._remove_timer(context)
        end_session()
        return _report_finished(self, session, outcome)

    def cancel(self, context: bpy.types.Context) -> None:
        """Blender ends the modal (file load, quit): never leave a child behind."""
        self._remove_timer(context)
        end_session()

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
        return active_session() is not None

    def execute(self, context: bpy.types.Context) -> set[str]:
        session = active_session()
        if session is not None:
            session.cancel()
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
        if show_image(image):
            return {"FINISHED"}
        self.report({"INFO"}, f"{image.name} is in the Image Editor's image list.")
        return {"FINISHED"}


classes = (
    TSHIRT_OT_setup_preview,
    TSHIRT_OT_choose_design,
    TSHIRT_OT_print_add,
    TSHIRT_OT_print_remove,
    TSHIRT_OT_render,
    TSHIRT_OT_cancel_render,
    TSHIRT_OT_open_output_folder,
    TSHIRT_OT_set_color_swatch,
    TSHIRT_OT_show_result,
)
register, unregister = bpy.utils.register_classes_factory(classes)
