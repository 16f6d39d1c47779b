"""Talking to the sync service off Blender's main thread (no ``bpy``).

Each piece of network work runs in a daemon thread and posts small frozen dataclasses to one
queue; a ``bpy.app.timers`` function in ``service_ops`` drains it and writes the panel's
properties. Threads never touch ``bpy``: they get plain values (URLs, paths, ids) and post plain
values back. One task per topic ("farm", "store", "history", ...) runs at a time.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._shared import errors, jobs, prints
from . import store_client

_log = logging.getLogger(__name__)

POLL_INTERVAL_S = 1.0
#: Polls that may fail in a row (a restarting service, a dropped Wi-Fi) before following stops.
MAX_POLL_FAILURES = 10
#: How long to keep following a finished job's push to the store.
PUSH_FOLLOW_S = 120.0

JobStatus, MediaSyncStatus = jobs.JobStatus, jobs.MediaSyncStatus
#: What the history offers for a job in each status (the service has the final word).
RETRYABLE = jobs.TERMINAL - {JobStatus.COMPLETED}
CANCELLABLE = jobs.sources_for(JobStatus.CANCELLED)


# -- messages (worker thread -> main thread) ---------------------------------------------------


@dataclass(frozen=True)
class JobUpdate:
    """A fresh copy of a job the panel follows."""

    topic: str
    scene: str
    job: dict[str, Any]


@dataclass(frozen=True)
class JobImages:
    """A finished job's stills, downloaded and checked, in ``folder``."""

    topic: str
    scene: str
    job_id: str
    folder: str
    files: tuple[str, ...]


@dataclass(frozen=True)
class HistoryPage:
    scene: str
    product_id: str
    jobs: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class Done:
    """A one-shot request finished; ``message`` is the sentence to show."""

    topic: str
    scene: str
    message: str
    job: dict[str, Any] | None = None


@dataclass(frozen=True)
class Failed:
    topic: str
    scene: str
    message: str
    retryable: bool = True


Message = JobUpdate | JobImages | HistoryPage | Done | Failed


# -- the runner --------------------------------------------------------------------------------


@dataclass
class _Running:
    thread: threading.Thread
    stop: threading.Event = field(default_factory=threading.Event)


class Tasks:
    """The worker threads and their outbox."""

    def __init__(self) -> None:
        self.outbox: queue.Queue[Message] = queue.Queue()
        self._running: dict[str, _Running] = {}
        self._lock = threading.Lock()

    def busy(self, topic: str) -> bool:
        with self._lock:
            running = self._running.get(topic)
            return running is not None and running.thread.is_alive()

    def start(self, topic: str, scene: str,
              work: Callable[[Callable[[Message], None], threading.Event], None]) -> bool:
        """Run ``work(post, stop)`` in a thread; False when that topic is already busy."""
        with self._lock:
            old = self._running.get(topic)
            if old is not None and old.thread.is_alive():
                return False
            stop = threading.Event()
            post = self.outbox.put  # this generation's queue (see stop_all)

            def run() -> None:  # worker thread: no bpy here
                try:
                    work(post, stop)
                except errors.TshirtError as exc:
                    post(Failed(topic, scene, exc.message, isinstance(exc, errors.SyncFailed)))
                except Exception as exc:  # a bug still ends as one sentence, details logged
                    _log.exception("%s task failed", topic)
                    post(Failed(topic, scene,
                                f"Unexpected error ({type(exc).__name__}); see the console."))

            thread = threading.Thread(target=run, name=f"tshirt-{topic}", daemon=True)
            self._running[topic] = _Running(thread, stop)
            thread.start()
            return True

    def stop(self, topic: str) -> None:
        with self._lock:
            running = self._running.get(topic)
        if running is not None:
            running.stop.set()

    def join(self, topic: str, timeout: float | None = None) -> None:
        with self._lock:
            running = self._running.get(topic)
        if running is not None:
            running.thread.join(timeout)

    def drain(self) -> list[Message]:
        messages = []
        while True:
            try:
                messages.append(self.outbox.get_nowait())
            except queue.Empty:
                return messages

    def stop_all(self, join_s: float = 2.0) -> None:
        """Ask every thread to stop and forget them: whatever they post later goes to a queue
        nobody reads (a new file's scene of the same name must not get an old job's state)."""
        with self._lock:
            running = list(self._running.values())
            self._running.clear()
            self.outbox = queue.Queue()
        for item in running:
            item.stop.set()
        deadline = time.monotonic() + join_s
        for item in running:
            item.thread.join(max(0.0, deadline - time.monotonic()))


# -- the work itself (each runs in a worker thread) --------------------------------------------


def follow_job(client: store_client.StoreClient, topic: str, scene: str, job_id: str,
               post: Callable[[Message], None], stop: threading.Event, *,
               download_to: str = "", follow_push: bool = False,
               interval: float = POLL_INTERVAL_S) -> None:
    """Poll the job until it ends (and, with ``follow_push``, until its push settles), posting
    each state; then download its stills into ``download_to`` when it completed."""
    failures = 0
    push_deadline = None
    job: dict[str, Any] = {}
    while not stop.is_set():
        try:
            job = client.get_job(job_id)
        except errors.SyncFailed as exc:
            failures += 1
            if failures >= MAX_POLL_FAILURES:
                raise errors.SyncFailed(f"Lost contact with the sync service while following "
                                        f"job {job_id}: {exc.message}") from exc
            stop.wait(interval)
            continue
        failures = 0
        post(JobUpdate(topic, scene, job))
        if job.get("status") in jobs.TERMINAL:
            if not follow_push or job.get("media_sync_status") != MediaSyncStatus.PENDING:
                break
            push_deadline = push_deadline or time.monotonic() + PUSH_FOLLOW_S
            if time.monotonic() > push_deadline:
                break
        stop.wait(interval)
    if stop.is_set() or not download_to or job.get("status") != JobStatus.COMPLETED:
        return
    files = client.download_outputs(job, download_to)
    post(JobImages(topic, scene, job_id, str(download_to), tuple(str(p) for p in files)))


def send_render(client: store_client.StoreClient, scene: str, output_dir: str, product_id: str,
                post: Callable[[Message], None], stop: threading.Event, *,
                follow_push: bool = True) -> None:
    """"Send to store": record the job with its outputs, then follow its push to the store."""
    try:
        job = client.report_render(output_dir, product_id)
    except errors.SyncFailed as exc:
        raise errors.SyncFailed(f"{exc.message} The render is kept in {output_dir}; "
                                f"send it again later.") from exc
    post(JobUpdate("store", scene, job))
    if follow_push and job.get("media_sync_status") == MediaSyncStatus.PENDING:
        follow_job(client, "store", scene, str(job["id"]), post, stop, follow_push=True,
                   interval=2.0)


def submit_farm(client: store_client.StoreClient, scene: str,
                job_prints: Sequence[prints.PrintSpec], fields: dict[str, str],
                download_to: str, post: Callable[[Message], None],
                stop: threading.Event) -> None:
    """"Render on the farm": queue the job, follow it, fetch its stills when it completes."""
    job = client.submit_job(job_prints, fields)
    post(JobUpdate("farm", scene, job))
    folder = str(Path(download_to) / str(job["id"])) if download_to else ""
    follow_job(client, "farm", scene, str(job["id"]), post, stop, download_to=folder)


def load_history(client: store_client.StoreClient, scene: str, product_id: str,
                 post: Callable[[Message], None], stop: threading.Event) -> None:
    post(HistoryPage(scene, product_id, tuple(client.product_jobs(product_id))))


def job_action(client: store_client.StoreClient, scene: str, action: str, job_id: str,
               post: Callable[[Message], None], stop: threading.Event) -> None:
    """Cancel or retry a job from the history, then list the product's jobs again."""
    if action == "cancel":
        job = client.cancel_job(job_id)
        message = f"Job {job_id} is {job.get('status', JobStatus.CANCELLED)}."
    elif action == "retry":
        job = client.retry_job(job_id)
        message = f"Retrying job {job_id} as job {job.get('id')}."
    else:
        raise errors.InvalidInput(f"Unknown job action {action!r}.")
    post(Done("history_action", scene, message, job))
    product_id = str(job.get("product_id") or "")
    if product_id:
        post(HistoryPage(scene, product_id, tuple(client.product_jobs(product_id))))


def open_job_images(client: store_client.StoreClient, scene: str, job_id: str, cache_dir: str,
                    post: Callable[[Message], None], stop: threading.Event) -> None:
    job = client.get_job(job_id)
    if job.get("status") != JobStatus.COMPLETED:
        raise errors.InvalidInput(f"Job {job_id} has no images: it is {job.get('status')}.")
    folder = Path(cache_dir) / job_id
    files = client.download_outputs(job, folder)
    post(JobImages("history_open", scene, job_id, str(folder), tuple(str(p) for p in files)))


def check_connection(client: store_client.StoreClient, scene: str,
                     post: Callable[[Message], None], stop: threading.Event) -> None:
    result = client.check_connection()
    if result.answered and result.token_ok:
        post(Done("connection", scene, result.message))
    else:
        post(Failed("connection", scene, result.message))


def farm_fields(*, product_id: str, color: str, template: str, quality: str,
                animation: bool, background: str) -> dict[str, str]:
    """The multipart fields of ``POST /admin/render-jobs`` for the panel's settings (the
    prints' own are ``store_client.print_parts``')."""
    if not product_id:
        raise errors.InvalidInput("Enter the product id the farm renders for.")
    return {"product_id": product_id, "source": "api", "color": color,
            "template_id": template, "quality": quality,
            "animation": "true" if animation else "false", "background": background}


STATUS_ICONS = {
    JobStatus.PENDING: "SORTTIME", JobStatus.COMPOSITING: "PLAY",
    JobStatus.RENDERING: "RENDER_ANIMATION", JobStatus.COMPLETED: "CHECKMARK",
    JobStatus.FAILED: "ERROR", JobStatus.CANCELLED: "CANCEL",
}
PUSH_TEXT = {
    MediaSyncStatus.NOT_CONFIGURED: "no store", MediaSyncStatus.PENDING: "pushing",
    MediaSyncStatus.PUSHED: "pushed", MediaSyncStatus.FAILED: "push failed",
    MediaSyncStatus.WAITING_FOR_RENDER: "after render", MediaSyncStatus.NO_RENDER: "not sent",
}


def push_text(state: str) -> str:
    """A job's store push in a word or two (an unknown state as the service said it)."""
    return PUSH_TEXT.get(state, state)


def short_time(iso: str | None) -> str:
    """``2026-11-28T16:46:00.175Z`` -> ``11-28 16:46`` (UTC; the list has little room)."""
    if not iso or len(iso) < 16:
        return ""
    return f"{iso[5:10]} {iso[11:16]}"


def _first_and_more(first: object, listed: object) -> str:
    more = len(listed) - 1 if isinstance(listed, list) else 0
    return str(first or "") + (f" +{more}" if more > 0 else "")


def colour_label(job: dict[str, Any]) -> str:
    """A job's colour for the list: the first, and how many more a several-colour job has."""
    return _first_and_more(job.get("color", ""), job.get("colors"))


def preset_label(job: dict[str, Any]) -> str:
    """A job's placement for the list: its first print's, and how many more prints it has."""
    listed = job.get("prints")
    first = job.get("preset")
    if not first and isinstance(listed, list) and listed and isinstance(listed[0], dict):
        first = listed[0].get("preset")
    return _first_and_more(first, listed)


def progress_sentence(job: dict[str, Any]) -> str:
    """One line for the panel: status, percent, stage."""
    status = str(job.get("status", ""))
    if status == JobStatus.FAILED:
        error = job.get("error") or {}
        return f"Failed: {error.get('message') or 'the render failed'}"
    if status in jobs.TERMINAL:
        return status.capitalize()
    stage = job.get("stage") or status
    return f"{status.capitalize()} {int(job.get('progress') or 0)}% ({stage})"
