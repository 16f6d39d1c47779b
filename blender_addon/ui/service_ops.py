"""The sync service from the panel: send to store, render on the farm, the product's history,
"Test connection".

Operators are thin: they check ``bpy.app.online_access`` and the preferences, then hand plain
values to a ``service_tasks`` thread. ``tick()`` (a persistent ``bpy.app.timers`` function)
drains the threads' messages and writes ``Scene.tshirt``; scripts pass ``wait=True`` and headless
tests call ``tick()`` themselves::

    bpy.ops.tshirt.test_connection(wait=True)
    bpy.ops.tshirt.send_to_store(wait=True)      # the last local render
    bpy.ops.tshirt.farm_render()                 # queue the panel's settings on the service
    bpy.ops.tshirt.farm_cancel()
    bpy.ops.tshirt.history_refresh(wait=True)    # scene.tshirt.history
    bpy.ops.tshirt.job_retry(job_id="rjob_...")  # also job_cancel, job_open
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path

import bpy
from bpy.props import BoolProperty, StringProperty

from .._shared import angles, errors
from ..core import panel_logic, service_tasks, store_client
from . import operators, preferences

_log = logging.getLogger(__name__)

OFFLINE = ("Online access is off; allow it in Preferences > System > Network to use the "
           "sync service.")
TICK_BUSY_S = 0.25
TICK_IDLE_S = 1.0
HISTORY_REFRESH_S = 15.0
#: The history refreshes on its own only while its panel was drawn this recently.
HISTORY_VISIBLE_S = 3.0

tasks = service_tasks.Tasks()
#: The last "Test connection" sentence, shown in the preferences.
connection_status = ""
_history_drawn: dict[str, float] = {}  # scene name -> when its history panel was last drawn
_history_loaded: dict[str, float] = {}


def _client(context: bpy.types.Context | None = None) -> store_client.StoreClient:
    """A client from the preferences; raises ``InvalidInput`` when offline or unset."""
    if not bpy.app.online_access:
        raise errors.InvalidInput(OFFLINE)
    prefs = preferences.get(context)
    return store_client.StoreClient(prefs.service_url if prefs else "",
                                    prefs.service_token if prefs else "")


def _settings(scene_name: str):
    scene = bpy.data.scenes.get(scene_name)
    return getattr(scene, "tshirt", None) if scene is not None else None


def _redraw() -> None:
    wm = bpy.context.window_manager
    for window in wm.windows if wm else ():
        for area in window.screen.areas:
            if area.type in {"VIEW_3D", "PREFERENCES"}:
                area.tag_redraw()


# -- applying the threads' messages (main thread) ----------------------------------------------


def _history_row(item, job: dict) -> None:
    item.job_id = str(job.get("id", ""))
    item.status = str(job.get("status", ""))
    item.preset = str(job.get("preset", ""))
    item.color = str(job.get("color", ""))
    item.created = service_tasks.short_time(job.get("created_at"))
    item.push_state = str(job.get("media_sync_status") or "")
    item.source = str(job.get("source") or "")
    item.progress = max(0, min(100, int(job.get("progress") or 0)))
    error = job.get("error") or {}
    item.error = str(error.get("message") or "")


def _update_history(settings, job: dict) -> None:
    """Keep a row the list already shows in step with a job the panel follows."""
    for item in settings.history:
        if item.job_id == job.get("id"):
            _history_row(item, job)
            return


def _apply_job(settings, message: service_tasks.JobUpdate) -> str:
    job = message.job
    job_id = str(job.get("id", ""))
    status = str(job.get("status", ""))
    push = str(job.get("media_sync_status") or "")
    _update_history(settings, job)
    if message.topic == "store":
        settings.sync_state = "SENT"
        settings.sync_job_id = job_id
        settings.sync_push = push
        text = service_tasks.PUSH_TEXT.get(push, push)
        settings.sync_message = f"Sent as job {job_id} (store: {text})."
        return settings.sync_message
    settings.farm_job_id = job_id
    settings.farm_status = status
    settings.farm_push = push
    settings.farm_progress = float(job.get("progress") or 0) / 100.0
    settings.farm_message = service_tasks.progress_sentence(job)
    settings.farm_state = {"failed": "FAILED", "cancelled": "CANCELLED"}.get(status, "RUNNING")
    if status == "completed":
        settings.farm_message = "Completed; downloading the images..."
    return settings.farm_message


def _load_job_images(job_id: str, files: tuple[str, ...]) -> list[bpy.types.Image]:
    images = []
    for path in files:
        name = f"tshirt_{job_id}_{Path(path).stem}"
        old = bpy.data.images.get(name)
        if old is not None:
            bpy.data.images.remove(old)
        try:
            image = bpy.data.images.load(path, check_existing=False)
        except RuntimeError as exc:
            _log.warning("could not load %s: %s", path, exc)
            continue
        image.name = name
        images.append(image)
    return images


def show_image(image: bpy.types.Image) -> bool:
    """Show the image in an Image Editor if the UI has one (or can open one)."""
    wm = bpy.context.window_manager
    for window in wm.windows if wm else ():
        for area in window.screen.areas:
            if area.type == "IMAGE_EDITOR":
                area.spaces.active.image = image
                return True
    for window in wm.windows if wm else ():
        try:
            with bpy.context.temp_override(window=window):
                bpy.ops.render.view_show("INVOKE_DEFAULT")
        except RuntimeError as exc:
            _log.debug("no image editor: %s", exc)
            return False
        for win in wm.windows:
            for area in win.screen.areas:
                if area.type == "IMAGE_EDITOR":
                    area.spaces.active.image = image
                    return True
    return False


def apply(message: service_tasks.Message) -> tuple[bool, str]:
    """Write one message into its scene; returns (ok, the sentence it amounts to)."""
    global connection_status
    if isinstance(message, service_tasks.Done | service_tasks.Failed) \
            and message.topic == "connection":
        connection_status = message.message
        return isinstance(message, service_tasks.Done), message.message
    settings = _settings(message.scene)
    if settings is None:
        return False, "The scene is gone."
    if isinstance(message, service_tasks.JobUpdate):
        return True, _apply_job(settings, message)
    if isinstance(message, service_tasks.JobImages):
        if message.topic == "farm":
            count = operators.load_results(settings, message.folder, angles.ANGLE_IDS)
            settings.last_output_dir = message.folder
            settings.farm_state = "DONE"
            settings.farm_progress = 1.0
            settings.farm_message = (f"The farm rendered {count} image(s); they are in "
                                     f"{message.folder}.")
            return True, settings.farm_message
        images = _load_job_images(message.job_id, message.files)
        shown = bool(images) and show_image(images[0])
        where = "in the Image Editor" if shown else "in the Image Editor's list"
        settings.history_message = (f"Job {message.job_id}: {len(images)} image(s) {where} "
                                    f"(tshirt_{message.job_id}_*).")
        return True, settings.history_message
    if isinstance(message, service_tasks.HistoryPage):
        selected = (settings.history[settings.history_index].job_id
                    if 0 <= settings.history_index < len(settings.history) else "")
        settings.history.clear()
        for job in message.jobs:
            _history_row(settings.history.add(), job)
        ids = [item.job_id for item in settings.history]
        settings.history_index = ids.index(selected) if selected in ids else 0
        settings.history_product = message.product_id
        if not settings.history_message.startswith(("Job ", "Retrying")):
            settings.history_message = ""
        _history_loaded[message.scene] = time.monotonic()
        return True, f"{len(message.jobs)} job(s) for {message.product_id}."
    if isinstance(message, service_tasks.Done):
        settings.history_message = message.message
        return True, message.message
    # Failed
    if message.topic == "store":
        settings.sync_state = "FAILED"
        settings.sync_message = f"Not sent: {message.message}"
        return False, settings.sync_message
    if message.topic == "farm":
        settings.farm_state = "FAILED"
        settings.farm_message = message.message
        return False, message.message
    if message.topic == "history":
        _history_loaded[message.scene] = time.monotonic()  # do not hammer a dead service
    settings.history_message = message.message
    return False, message.message


def tick() -> float:
    """The timer: apply what the threads posted; keep the visible history fresh."""
    try:
        messages = tasks.drain()
        for message in messages:
            ok, sentence = apply(message)
            _log.log(logging.INFO if ok else logging.WARNING, "%s", sentence)
        _auto_refresh_history()
        if messages:  # an idle Blender must not redraw its viewports every second
            _redraw()
    except Exception:  # a timer that raises is dropped by Blender: log and keep going
        _log.exception("applying sync service messages failed")
    busy = any(tasks.busy(t) for t in ("farm", "store", "history", "history_action",
                                       "history_open", "connection"))
    return TICK_BUSY_S if busy else TICK_IDLE_S


def note_history_drawn(scene_name: str) -> None:
    _history_drawn[scene_name] = time.monotonic()


def _auto_refresh_history() -> None:
    now = time.monotonic()
    for scene_name, drawn in list(_history_drawn.items()):
        settings = _settings(scene_name)
        if settings is None or now - drawn > HISTORY_VISIBLE_S or not settings.product_id:
            continue
        stale = now - _history_loaded.get(scene_name, 0.0) > HISTORY_REFRESH_S
        if (stale or settings.history_product != settings.product_id) \
                and not tasks.busy("history"):
            try:
                start_history(scene_name, settings.product_id, _client())
            except errors.TshirtError:
                _history_loaded[scene_name] = now  # offline or unset: the panel says so


def start_history(scene_name: str, product_id: str, client: store_client.StoreClient) -> bool:
    _history_loaded[scene_name] = time.monotonic()
    return tasks.start("history", scene_name, lambda post, stop: service_tasks.load_history(
        client, scene_name, product_id, post, stop))


def _finish_wait(op: bpy.types.Operator, topic: str) -> set[str]:
    """Scripts (``wait=True``): block until the task ends, apply, report the last sentence."""
    tasks.join(topic)
    ok, sentence = True, ""
    for message in tasks.drain():
        applied = apply(message)
        ours = getattr(message, "topic", "history") == topic  # a HistoryPage is "history"'s
        if ours:
            ok, sentence = applied
    op.report({"INFO"} if ok else {"ERROR"}, sentence or "Done.")
    return {"FINISHED"} if ok else {"CANCELLED"}


# -- operators ---------------------------------------------------------------------------------


_WAIT = BoolProperty(name="Wait", description="Block until it is done (scripts)", default=False)


class TSHIRT_OT_test_connection(bpy.types.Operator):
    """Check that the sync service answers and accepts the token"""

    bl_idname = "tshirt.test_connection"
    bl_label = "Test Connection"

    wait: _WAIT  # type: ignore[valid-type]

    def execute(self, context: bpy.types.Context) -> set[str]:
        global connection_status
        try:
            client = _client(context)
        except errors.TshirtError as exc:
            connection_status = exc.message
            self.report({"ERROR"}, exc.message)
            return {"CANCELLED"}
        scene = context.scene.name if context.scene else ""
        connection_status = "Testing the connection..."
        tasks.start("connection", scene, lambda post, stop: service_tasks.check_connection(
            client, scene, post, stop))
        if self.wait:
            return _finish_wait(self, "connection")
        return {"FINISHED"}


class TSHIRT_OT_send_to_store(bpy.types.Operator):
    """Send the last render to the sync service, which adds the images to the product"""

    bl_idname = "tshirt.send_to_store"
    bl_label = "Send to Store"

    wait: _WAIT  # type: ignore[valid-type]

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        scene = context.scene
        return (not tasks.busy("store") and operators.active_session() is None
                and scene is not None
                and os.path.isfile(os.path.join(scene.tshirt.last_output_dir, "manifest.json")))

    def execute(self, context: bpy.types.Context) -> set[str]:
        settings = context.scene.tshirt
        try:
            client = _client(context)
            if not settings.product_id:
                raise errors.InvalidInput("Enter the product id to send the render to.")
        except errors.TshirtError as exc:
            self.report({"ERROR"}, exc.message)
            return {"CANCELLED"}
        scene, folder, product = context.scene.name, settings.last_output_dir, settings.product_id
        follow = not self.wait  # a script gets the job back at once; the panel follows the push
        settings.sync_state = "SENDING"
        settings.sync_message = "Sending to the sync service..."
        settings.sync_push = settings.sync_job_id = ""
        tasks.start("store", scene, lambda post, stop: service_tasks.send_render(
            client, scene, folder, product, post, stop, follow_push=follow))
        if self.wait:
            return _finish_wait(self, "store")
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
        prefs = preferences.get(context)
        try:
            client = _client(context)
            design = bpy.path.abspath(settings.design_path) if settings.design_path else ""
            if not design:
                raise errors.InvalidInput("Choose a design image first.")
            if settings.design_error:
                raise errors.InvalidInput(settings.design_error)
            fields = service_tasks.farm_fields(
                product_id=settings.product_id, preset=settings.preset,
                color=settings.color_hex, template=settings.template,
                quality=settings.quality, animation=settings.animation,
                background=panel_logic.background_value(settings.background,
                                                        settings.background_color))
        except errors.TshirtError as exc:
            self.report({"ERROR"}, exc.message)
            return {"CANCELLED"}
        base = settings.output_dir or (prefs.default_output_dir if prefs else "")
        root = Path(bpy.path.abspath(base)) if base else panel_logic.default_output_root()
        download_to = str(root / "farm")
        scene = context.scene.name
        settings.farm_state = "SUBMITTING"
        settings.farm_message = "Sending the job to the sync service..."
        settings.farm_job_id = settings.farm_status = settings.farm_push = ""
        settings.farm_progress = 0.0
        tasks.start("farm", scene, lambda post, stop: service_tasks.submit_farm(
            client, scene, design, fields, download_to, post, stop))
        if self.wait:
            return _finish_wait(self, "farm")
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
    try:
        client = _client(context)
        if not job_id:
            raise errors.InvalidInput("Choose a job in the list first.")
    except errors.TshirtError as exc:
        op.report({"ERROR"}, exc.message)
        return {"CANCELLED"}
    scene = context.scene.name
    if not tasks.start("history_action", scene, lambda post, stop: service_tasks.job_action(
            client, scene, action, job_id, post, stop)):
        op.report({"WARNING"}, "Another job request is still running; try again in a moment.")
        return {"CANCELLED"}
    if wait:
        return _finish_wait(op, "history_action")
    return {"FINISHED"}


class TSHIRT_OT_history_refresh(bpy.types.Operator):
    """List the product's jobs on the sync service again"""

    bl_idname = "tshirt.history_refresh"
    bl_label = "Refresh Jobs"

    wait: _WAIT  # type: ignore[valid-type]

    def execute(self, context: bpy.types.Context) -> set[str]:
        settings = context.scene.tshirt
        try:
            client = _client(context)
            if not settings.product_id:
                raise errors.InvalidInput("Enter a product id to list its jobs.")
        except errors.TshirtError as exc:
            settings.history_message = exc.message
            self.report({"ERROR"}, exc.message)
            return {"CANCELLED"}
        if not start_history(context.scene.name, settings.product_id, client) and not self.wait:
            return {"CANCELLED"}
        if self.wait:
            return _finish_wait(self, "history")
        return {"FINISHED"}


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
        try:
            client = _client(context)
            if not job_id:
                raise errors.InvalidInput("Choose a job in the list first.")
        except errors.TshirtError as exc:
            self.report({"ERROR"}, exc.message)
            return {"CANCELLED"}
        scene = context.scene.name
        cache = str(cache_dir())
        if not tasks.start("history_open", scene, lambda post, stop:
                           service_tasks.open_job_images(client, scene, job_id, cache, post,
                                                         stop)):
            self.report({"WARNING"}, "Still downloading the last job's images.")
            return {"CANCELLED"}
        if self.wait:
            return _finish_wait(self, "history_open")
        return {"FINISHED"}


class TSHIRT_OT_copy_job_url(_JobOperator, bpy.types.Operator):
    """Copy the job's address on the sync service to the clipboard"""

    bl_idname = "tshirt.copy_job_url"
    bl_label = "Copy Job Link"
    bl_options = {"INTERNAL"}

    def execute(self, context: bpy.types.Context) -> set[str]:
        prefs = preferences.get(context)
        url = job_url(prefs.service_url if prefs else "", self.job(context))
        context.window_manager.clipboard = url
        self.report({"INFO"}, f"Copied {url}.")
        return {"FINISHED"}


def job_url(service_url: str, job_id: str) -> str:
    return f"{service_url.rstrip('/')}/admin/render-jobs/{job_id}"


def cache_dir() -> Path:
    """Where the history's downloads are kept (Blender's temp folder is per session)."""
    return Path(tempfile.gettempdir()) / "tshirt_render_jobs"


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
_register_classes, _unregister_classes = bpy.utils.register_classes_factory(classes)


@bpy.app.handlers.persistent
def _on_load_pre(*_args) -> None:
    """Another file: stop following jobs for scenes that are going away."""
    tasks.stop_all(join_s=0.0)
    _history_drawn.clear()
    _history_loaded.clear()


@bpy.app.handlers.persistent
def _on_load_post(*_args) -> None:
    """A file saved while a job was followed must not reopen showing it as followed."""
    for scene in bpy.data.scenes:
        settings = getattr(scene, "tshirt", None)
        if settings is None:
            continue
        if settings.farm_state in {"SUBMITTING", "RUNNING"}:
            settings.farm_state = "IDLE"
            settings.farm_message = (f"Job {settings.farm_job_id} is no longer followed; see "
                                     f"the job list." if settings.farm_job_id else "")
        if settings.sync_state == "SENDING":
            settings.sync_state = "IDLE"
            settings.sync_message = ""


def register() -> None:
    _register_classes()
    bpy.app.timers.register(tick, first_interval=TICK_IDLE_S, persistent=True)
    bpy.app.handlers.load_pre.append(_on_load_pre)
    bpy.app.handlers.load_post.append(_on_load_post)


def unregister() -> None:
    global connection_status
    for handlers, handler in ((bpy.app.handlers.load_pre, _on_load_pre),
                              (bpy.app.handlers.load_post, _on_load_post)):
        while handler in handlers:
            handlers.remove(handler)
    if bpy.app.timers.is_registered(tick):
        bpy.app.timers.unregister(tick)
    tasks.stop_all()
    _history_drawn.clear()
    _history_loaded.clear()
    connection_status = ""
    _unregister_classes()
