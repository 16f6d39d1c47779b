"""The sync service's side of the panel: the worker threads' outbox applied to ``Scene.tshirt``.

``tick()`` (a persistent ``bpy.app.timers`` function) drains what the ``core.service_tasks``
threads posted and writes the panel's properties; it also keeps an open history panel fresh.
Operators (``service_ops``) build a client here and start tasks; scripts that pass
``wait=True`` block in ``finish_wait``; headless tests call ``tick()`` themselves.
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

import bpy

from .._shared import angles, errors, jobs
from ..core import service_tasks, store_client
from . import preferences
from .render_session import load_job_images, load_results, redraw, show_image

_log = logging.getLogger(__name__)

OFFLINE = ("Online access is off; allow it in Preferences > System > Network to use the "
           "sync service.")
TICK_BUSY_S = 0.25
TICK_IDLE_S = 1.0
HISTORY_REFRESH_S = 15.0
#: The history refreshes on its own only while its panel was drawn this recently.
HISTORY_VISIBLE_S = 3.0
TOPICS = ("farm", "store", "history", "history_action", "history_open", "connection")
#: What the farm panel's state becomes when the followed job ends other than completed.
_FARM_END_STATES = {jobs.JobStatus.FAILED: "FAILED", jobs.JobStatus.CANCELLED: "CANCELLED"}

tasks = service_tasks.Tasks()
_history_drawn: dict[str, float] = {}  # scene name -> when its history panel was last drawn
_history_loaded: dict[str, float] = {}


def client(context: bpy.types.Context | None = None,
           *requirements: tuple[object, str]) -> store_client.StoreClient:
    """A client from the preferences once every ``(value, sentence)`` requirement holds;
    ``InvalidInput`` (offline, unset, the first unmet requirement's sentence) otherwise."""
    if not bpy.app.online_access:
        raise errors.InvalidInput(OFFLINE)
    prefs = preferences.get(context)
    made = store_client.StoreClient(prefs.service_url if prefs else "",
                                    prefs.service_token if prefs else "")
    for value, sentence in requirements:
        if not value:
            raise errors.InvalidInput(sentence)
    return made


def set_connection_status(text: str) -> None:
    """The "Test connection" sentence the preferences show."""
    bpy.context.window_manager.tshirt_connection_status = text


def _settings(scene_name: str):
    scene = bpy.data.scenes.get(scene_name)
    return getattr(scene, "tshirt", None) if scene is not None else None


# -- applying the threads' messages (main thread) ----------------------------------------------


def _history_row(item, job: dict) -> None:
    item.job_id = str(job.get("id", ""))
    item.status = str(job.get("status", ""))
    item.preset = service_tasks.preset_label(job)
    item.color = service_tasks.colour_label(job)
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
        settings.sync_message = f"Sent as job {job_id} (store: {service_tasks.push_text(push)})."
        return settings.sync_message
    settings.farm_job_id = job_id
    settings.farm_status = status
    settings.farm_push = push
    settings.farm_progress = float(job.get("progress") or 0) / 100.0
    settings.farm_message = service_tasks.progress_sentence(job)
    settings.farm_state = _FARM_END_STATES.get(status, "RUNNING")
    if status == jobs.JobStatus.COMPLETED:
        settings.farm_message = "Completed; downloading the images..."
    return settings.farm_message


def _apply_images(settings, message: service_tasks.JobImages) -> str:
    if message.topic == "farm":
        count = load_results(settings, message.folder, angles.ANGLE_IDS)
        settings.last_output_dir = message.folder
        settings.farm_state = "DONE"
        settings.farm_progress = 1.0
        settings.farm_message = (f"The farm rendered {count} image(s); they are in "
                                 f"{message.folder}.")
        return settings.farm_message
    images = load_job_images(message.job_id, message.files)
    shown = bool(images) and show_image(images[0])
    where = "in the Image Editor" if shown else "in the Image Editor's list"
    settings.history_message = (f"Job {message.job_id}: {len(images)} image(s) {where} "
                                f"(tshirt_{message.job_id}_*).")
    return settings.history_message


def _apply_history(settings, message: service_tasks.HistoryPage) -> str:
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
    return f"{len(message.jobs)} job(s) for {message.product_id}."


def _apply_failure(settings, message: service_tasks.Failed) -> str:
    if message.topic == "store":
        settings.sync_state = "FAILED"
        settings.sync_message = f"Not sent: {message.message}"
        return settings.sync_message
    if message.topic == "farm":
        settings.farm_state = "FAILED"
        settings.farm_message = message.message
        return message.message
    if message.topic == "history":
        _history_loaded[message.scene] = time.monotonic()  # do not hammer a dead service
    settings.history_message = message.message
    return message.message


def apply(message: service_tasks.Message) -> tuple[bool, str]:
    """Write one message into its scene; returns (ok, the sentence it amounts to)."""
    if isinstance(message, service_tasks.Done | service_tasks.Failed) \
            and message.topic == "connection":
        set_connection_status(message.message)
        return isinstance(message, service_tasks.Done), message.message
    settings = _settings(message.scene)
    if settings is None:
        return False, "The scene is gone."
    if isinstance(message, service_tasks.JobUpdate):
        return True, _apply_job(settings, message)
    if isinstance(message, service_tasks.JobImages):
        return True, _apply_images(settings, message)
    if isinstance(message, service_tasks.HistoryPage):
        return True, _apply_history(settings, message)
    if isinstance(message, service_tasks.Done):
        settings.history_message = message.message
        return True, message.message
    return False, _apply_failure(settings, message)


def tick() -> float:
    """The timer: apply what the threads posted; keep the visible history fresh."""
    try:
        messages = tasks.drain()
        for message in messages:
            ok, sentence = apply(message)
            _log.log(logging.INFO if ok else logging.WARNING, "%s", sentence)
        _auto_refresh_history()
        if messages:  # an idle Blender must not redraw its viewports every second
            redraw("VIEW_3D", "PREFERENCES")
    except Exception:  # a timer that raises is dropped by Blender: log and keep going
        _log.exception("applying sync service messages failed")
    return TICK_BUSY_S if any(tasks.busy(topic) for topic in TOPICS) else TICK_IDLE_S


def finish_wait(op: bpy.types.Operator, topic: str) -> set[str]:
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


# -- the history -------------------------------------------------------------------------------


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
                start_history(scene_name, settings.product_id, client())
            except errors.TshirtError:
                _history_loaded[scene_name] = now  # offline or unset: the panel says so


def start_history(scene_name: str, product_id: str, made: store_client.StoreClient) -> bool:
    _history_loaded[scene_name] = time.monotonic()
    return tasks.start("history", scene_name, lambda post, stop: service_tasks.load_history(
        made, scene_name, product_id, post, stop))


def job_url(service_url: str, job_id: str) -> str:
    return f"{service_url.rstrip('/')}/admin/render-jobs/{job_id}"


def cache_dir() -> Path:
    """Where the history's downloads are kept (Blender's temp folder is per session)."""
    return Path(tempfile.gettempdir()) / "tshirt_render_jobs"


# -- lifecycle ---------------------------------------------------------------------------------


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


_HANDLERS = ((bpy.app.handlers.load_pre, _on_load_pre),
             (bpy.app.handlers.load_post, _on_load_post))


def register() -> None:
    bpy.app.timers.register(tick, first_interval=TICK_IDLE_S, persistent=True)
    for handlers, handler in _HANDLERS:
        handlers.append(handler)


def unregister() -> None:
    for handlers, handler in _HANDLERS:
        while handler in handlers:
            handlers.remove(handler)
    if bpy.app.timers.is_registered(tick):
        bpy.app.timers.unregister(tick)
    tasks.stop_all()
    _history_drawn.clear()
    _history_loaded.clear()
