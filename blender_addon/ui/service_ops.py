"""Operators for the sync service: send to store, render on the farm, the product's history,
"Test connection".

Thin: each checks ``bpy.app.online_access`` and the preferences (``service_sync.client``), then
hands plain values to a ``core.service_tasks`` thread; ``service_sync.tick`` applies what the
thread posts. Scripts pass ``wait=True``::

    bpy.ops.tshirt.test_connection(wait=True)
    bpy.ops.tshirt.send_to_store(wait=True)      # the last local render
    bpy.ops.tshirt.farm_render()                 # queue the panel's settings on the service
    bpy.ops.tshirt.farm_cancel()
    bpy.ops.tshirt.history_refresh(wait=True)    # scene.tshirt.history
    bpy.ops.tshirt.job_retry(job_id="rjob_...")  # also job_cancel, job_open
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import bpy
from bpy.props import BoolProperty, StringProperty

from .._shared import contracts, errors
from ..core import panel_logic, service_tasks, store_client
from . import preferences, service_sync
from .render_session import active_session
from .service_sync import finish_wait, tasks

T = TypeVar("T")


def _checked(op: bpy.types.Operator, prepare: Callable[[], T],
             on_error: Callable[[str], None] | None = None) -> T | None:
    """What ``prepare`` returns (a client, fields...), or None after reporting the one sentence
    it raised (offline, settings unset, a value missing)."""
    try:
        return prepare()
    except errors.TshirtError as exc:
        if on_error is not None:
            on_error(exc.message)
        op.report({"ERROR"}, exc.message)
        return None


_WAIT = BoolProperty(name="Wait", description="Block until it is done (scripts)", default=False)


class TSHIRT_OT_test_connection(bpy.types.Operator):
    """Check that the sync service answers and accepts the token"""

    bl_idname = "tshirt.test_connection"
    bl_label = "Test Connection"

    wait: _WAIT  # type: ignore[valid-type]

    def execute(self, context: bpy.types.Context) -> set[str]:
        client = _checked(self, lambda: service_sync.client(context),
                          service_sync.set_connection_status)
        if client is None:
            return {"CANCELLED"}
        scene = context.scene.name if context.scene else ""
        service_sync.set_connection_status("Testing the connection...")
        tasks.start("connection", scene, lambda post, stop: service_tasks.check_connection(
            client, scene, post, stop))
        if self.wait:
            return finish_wait(self, "connection")
        return {"FINISHED"}


class TSHIRT_OT_send_to_store(bpy.types.Operator):
    """Send the last render to the sync service, which adds the images to the product"""

    bl_idname = "tshirt.send_to_store"
    bl_label = "Send to Store"

    wait: _WAIT  # type: ignore[valid-type]

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        scene = context.scene
        return (not tasks.busy("store") and active_session() is None and scene is not None
                and os.path.isfile(os.path.join(scene.tshirt.last_output_dir,
                                                contracts.MANIFEST_NAME)))

    def execute(self, context: bpy.types.Context) -> set[str]:
        settings = context.scene.tshirt
        client = _checked(self, lambda: service_sync.client(
            context, (settings.product_id, "Enter the product id to send the render to.")))
        if client is None:
            return {"CANCELLED"}
        scene, folder, product = context.scene.name, settings.last_output_dir, settings.product_id
        follow = not self.wait  # a script gets the job back at once; the panel follows the push
        settings.sync_state = "SENDING"
        settings.sync_message = "Sending to the sync service..."
        settings.sync_push = settings.sync_job_id = ""
        tasks.start("store", scene, lambda post, stop: service_tasks.send_render(
            client, scene, folder, product, post, stop, follow_push=follow))
        if self.wait:
            return finish_wait(self, "store")
        self.report({"INFO"}, "Sending to the sync service in the background.")
        return {"FINISHED"}


class TSHIRT_OT_farm_render(bpy.types.Operator):
    """Render on the sync service's farm with the panel's settings; the panel follows the job"""

    bl_idname = "tshirt.farm_render"
    bl_label = "Render on the Farm"

    wait: _WAIT  # type: ignore[valid-type]

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return context.scene is not None and not tasks.busy("farm")

    def execute(self, context: bpy.types.Context) -> set[str]:
        settings = context.scene.tshirt
        job_prints = [item.spec() for item in settings.prints]

        def prepare() -> tuple[store_client.StoreClient, dict[str, str]]:
            client = service_sync.client(
                context, (job_prints, "Add a print and choose its design first."),
                *((item.design, f"Print {n}: choose a design image first.")
                  for n, item in enumerate(job_prints, start=1)),
                *((not item.design_error, f"Print {n}: {item.design_error}")
                  for n, item in enumerate(settings.prints, start=1)))
            return client, service_tasks.farm_fields(
                product_id=settings.product_id,
                color=settings.color_hex, template=settings.template,
                quality=settings.quality, animation=settings.animation,
                background=panel_logic.background_value(settings.background,
                                                        settings.background_color))

        prepared = _checked(self, prepare)
        if prepared is None:
            return {"CANCELLED"}
        client, fields = prepared
        prefs = preferences.get(context)
        base = settings.output_dir or (prefs.default_output_dir if prefs else "")
        root = Path(bpy.path.abspath(base)) if base else panel_logic.default_output_root()
        download_to = str(root / "farm")
        scene = context.scene.name
        settings.farm_state = "SUBMITTING"
        settings.farm_message = "Sending the job to the sync service..."
        settings.farm_job_id = settings.farm_status = settings.farm_push = ""
        settings.farm_progress = 0.0
        tasks.start("farm", scene, lambda post, stop: service_tasks.submit_farm(
            client, scene, job_prints, fields, download_to, post, stop))
        if self.wait:
            return finish_wait(self, "farm")
        self.report({"INFO"}, "Sent to the farm; the panel follows the job.")
        return {"FINISHED"}


class TSHIRT_OT_farm_cancel(bpy.types.Operator):
    """Cancel the farm job the panel follows"""

    bl_idname = "tshirt.farm_cancel"
    bl_label = "Cancel Farm Job"

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return context.scene is not None and context.scene.tshirt.farm_state == "RUNNING" \
            and bool(context.scene.tshirt.farm_job_id)

    def execute(self, context: bpy.types.Context) -> set[str]:
        return _job_action(self, context, "cancel", context.scene.tshirt.farm_job_id, False)


def _job_action(op: bpy.types.Operator, context: bpy.types.Context, action: str, job_id: str,
                wait: bool) -> set[str]:
    client = _checked(op, lambda: service_sync.client(
        context, (job_id, "Choose a job in the list first.")))
    if client is None:
        return {"CANCELLED"}
    scene = context.scene.name
    if not tasks.start("history_action", scene, lambda post, stop: service_tasks.job_action(
            client, scene, action, job_id, post, stop)):
        op.report({"WARNING"}, "Another job request is still running; try again in a moment.")
        return {"CANCELLED"}
    if wait:
        return finish_wait(op, "history_action")
    return {"FINISHED"}


class TSHIRT_OT_history_refresh(bpy.types.Operator):
    """List the product's jobs on the sync service again"""

    bl_idname = "tshirt.history_refresh"
    bl_label = "Refresh Jobs"

    wait: _WAIT  # type: ignore[valid-type]

    def execute(self, context: bpy.types.Context) -> set[str]:
        settings = context.scene.tshirt

        def note(message: str) -> None:
            settings.history_message = message

        client = _checked(self, lambda: service_sync.client(
            context, (settings.product_id, "Enter a product id to list its jobs.")), note)
        if client is None:
            return {"CANCELLED"}
        started = service_sync.start_history(context.scene.name, settings.product_id, client)
        if self.wait:
            return finish_wait(self, "history")
        return {"FINISHED"} if started else {"CANCELLED"}


class _JobOperator:
    job_id: StringProperty(name="Job")  # type: ignore[valid-type]
    wait: _WAIT  # type: ignore[valid-type]

    def job(self, context: bpy.types.Context) -> str:
        if self.job_id:
            return self.job_id
        settings = context.scene.tshirt
        if 0 <= settings.history_index < len(settings.history):
            return settings.history[settings.history_index].job_id
        return ""


class TSHIRT_OT_job_cancel(_JobOperator, bpy.types.Operator):
    """Cancel this job on the sync service"""

    bl_idname = "tshirt.job_cancel"
    bl_label = "Cancel Job"

    def execute(self, context: bpy.types.Context) -> set[str]:
        return _job_action(self, context, "cancel", self.job(context), self.wait)


class TSHIRT_OT_job_retry(_JobOperator, bpy.types.Operator):
    """Render this failed or cancelled job again (a new job on the service)"""

    bl_idname = "tshirt.job_retry"
    bl_label = "Retry Job"

    def execute(self, context: bpy.types.Context) -> set[str]:
        return _job_action(self, context, "retry", self.job(context), self.wait)


class TSHIRT_OT_job_open(_JobOperator, bpy.types.Operator):
    """Download this job's images (cached) and show them in an Image Editor"""

    bl_idname = "tshirt.job_open"
    bl_label = "Open Images"

    def execute(self, context: bpy.types.Context) -> set[str]:
        job_id = self.job(context)
        client = _checked(self, lambda: service_sync.client(
            context, (job_id, "Choose a job in the list first.")))
        if client is None:
            return {"CANCELLED"}
        scene = context.scene.name
        cache = str(service_sync.cache_dir())
        if not tasks.start("history_open", scene, lambda post, stop:
                           service_tasks.open_job_images(client, scene, job_id, cache, post,
                                                         stop)):
            self.report({"WARNING"}, "Still downloading the last job's images.")
            return {"CANCELLED"}
        if self.wait:
            return finish_wait(self, "history_open")
        return {"FINISHED"}


class TSHIRT_OT_copy_job_url(_JobOperator, bpy.types.Operator):
    """Copy the job's address on the sync service to the clipboard"""

    bl_idname = "tshirt.copy_job_url"
    bl_label = "Copy Job Link"
    bl_options = {"INTERNAL"}

    def execute(self, context: bpy.types.Context) -> set[str]:
        prefs = preferences.get(context)
        url = service_sync.job_url(prefs.service_url if prefs else "", self.job(context))
        context.window_manager.clipboard = url
        self.report({"INFO"}, f"Copied {url}.")
        return {"FINISHED"}


classes = (
    TSHIRT_OT_test_connection,
    TSHIRT_OT_send_to_store,
    TSHIRT_OT_farm_render,
    TSHIRT_OT_farm_cancel,
    TSHIRT_OT_history_refresh,
    TSHIRT_OT_job_cancel,
    TSHIRT_OT_job_retry,
    TSHIRT_OT_job_open,
    TSHIRT_OT_copy_job_url,
)
register, unregister = bpy.utils.register_classes_factory(classes)
