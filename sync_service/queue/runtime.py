"""The render queue: Huey instances built from configuration, the tasks on them, and the
consumers that run them. The app factory plugs its `enqueue`, `cancelled` and `health` into the
service's hooks.

Two Huey queues on the same storage: `<name>-render` (render jobs, taken by every worker on
every machine) and `<name>-maintenance` (the scheduled cleanup, consumed only where the data
directory lives: the `serve` process). Storage is `SqliteHuey` in the data directory by default
(nothing to install or start) and `RedisHuey` when `REDIS_URL` is set (workers on other
machines). Retries are not Huey's: attempts live in the job row (see `worker`), so an attempt
lost with a SIGKILLed worker counts like any other.

A started runtime registers its process in `queue_workers` and beats it (see `liveness`),
removes the scratch folders earlier runs on this machine left behind, and checks every
`stall_check_s` for jobs whose worker died (see `stalls`; `serve`'s supervisor checks too, from
a process that never renders).

Submitting survives a broker outage: a job is recorded first and queued second. When the broker
is away the enqueue leaves the job without a task id (one warning line, no error for the
caller: the API still answers 202 with the job), and `enqueue_unqueued`, run every
`UNQUEUED_SWEEP_S` by `serve`'s queue process, queues such jobs once the broker is back.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from huey import Huey, RedisHuey, SqliteHuey, crontab
from huey.consumer import Consumer
from sqlalchemy import update

from shared.jobs import JobStatus

from ..config import QueueSettings, parse_crontab
from ..db import Database
from ..jobs.cleanup import plan_cleanup, run_cleanup
from ..jobs.queries import unqueued_job_ids
from ..jobs.storage import Storage
from ..models import RenderJob
from . import liveness
from .broker import BROKER_ERRORS, describe
from .stalls import remove_stale_scratch, requeue_stalled
from .worker import RenderWorker

_log = logging.getLogger(__name__)

QUEUE_FILE = "queue.db"
#: How long an idle SQLite consumer waits at most between polls (Redis blocks instead).
SQLITE_MAX_POLL_S = 0.2
EXTENSION = "tshirt_queue"
#: How often `serve`'s queue process looks for jobs recorded but not queued.
UNQUEUED_SWEEP_S = 5.0
#: A job changed this recently may have its enqueue under way: the sweep leaves it alone.
UNQUEUED_GRACE_S = 5.0


def make_huey(settings: QueueSettings, data_dir: Path, kind: str) -> Huey:
    name = f"{settings.name}-{kind}"
    if settings.redis_url:
        return RedisHuey(name, url=settings.redis_url, results=False, utc=True)
    return SqliteHuey(name, filename=str(Path(data_dir) / QUEUE_FILE), results=False, utc=True,
                      timeout=10)


class EmbeddedConsumer(Consumer):
    """A Huey consumer whose threads run inside another program (the web server, the worker
    command): it leaves the process's signal handlers alone."""

    def _set_signal_handlers(self) -> None:
        return None


class QueueRuntime:
    """The queue as one process sees it: enqueueing, the hooks, and (when started) consumers."""

    def __init__(self, settings: QueueSettings, db: Database, storage: Storage, *,
                 completed: Callable[[str], None]) -> None:
        self.settings = settings
        self.db = db
        self.render_huey = make_huey(settings, storage.root, "render")
        self.maintenance_huey = make_huey(settings, storage.root, "maintenance")
        self.worker = RenderWorker(settings, db, storage, enqueue=self.enqueue_in,
                                   completed=completed)

        @self.render_huey.task(name="render_job")
        def render_job(job_id: str) -> None:
            self.worker.run(job_id)

        @self.maintenance_huey.periodic_task(crontab(**parse_crontab(settings.cleanup_crontab)),
                                             name="cleanup")
        def cleanup() -> int:
            with db.session() as session:
                plan = plan_cleanup(session, storage)
            run_cleanup(plan)
            _log.info("scheduled cleanup: %d item(s) deleted", len(plan))
            return len(plan)

        self.render_task = render_job
        self.cleanup_task = cleanup
        self.consumers: list[Consumer] = []
        self._registered = False
        self._watchdog_stop = threading.Event()
        self._watchdog: threading.Thread | None = None

    # -- hooks ---------------------------------------------------------------------------------

    def enqueue(self, job_id: str) -> None:
        self.enqueue_in(job_id, 0)

    def enqueue_in(self, job_id: str, delay_s: float) -> bool:
        """Queue a render of `job_id` (after `delay_s`), recording the task id in the job.
        With the broker away the job is left without one, for `enqueue_unqueued`; returns
        whether the job is queued now."""
        task = (self.render_task.s(job_id) if delay_s <= 0
                else self.render_task.s(job_id, delay=delay_s))
        self._set_task_id(task.id, RenderJob.id == job_id)
        return self._put(job_id, task)

    def enqueue_unqueued(self, grace_s: float = UNQUEUED_GRACE_S) -> list[str]:
        """Queue the jobs recorded but not queued (their enqueue met a broker outage, or their
        process died before it); returns their ids. Each is taken by a conditional UPDATE of
        its task id, so sweeps in several processes at once queue a job once."""
        with self.db.session() as session:
            job_ids = unqueued_job_ids(session, datetime.now(UTC) - timedelta(seconds=grace_s))
        queued = []
        for job_id in job_ids:
            task = self.render_task.s(job_id)
            if not self._set_task_id(task.id, RenderJob.id == job_id, RenderJob.task_id.is_(None),
                                     RenderJob.status == JobStatus.PENDING.value):
                continue  # queued or started meanwhile
            if not self._put(job_id, task):
                break  # the broker is still away: the next sweep goes on
            queued.append(job_id)
        if queued:
            _log.info("queued %d job(s) recorded while the broker was away: %s", len(queued),
                      ", ".join(queued))
        return queued

    def _put(self, job_id: str, task: Any) -> bool:
        """Put a task whose id the job already holds on the broker; when the broker refuses,
        take the id back so that the sweep finds the job."""
        try:
            self.render_huey.enqueue(task)
        except BROKER_ERRORS as error:
            self._set_task_id(None, RenderJob.id == job_id, RenderJob.task_id == task.id)
            _log.warning("job %s: recorded but not queued, the broker is unreachable (%s); it "
                         "is queued when the broker is back", job_id, describe(error))
            return False
        return True

    def _set_task_id(self, task_id: str | None, *where: Any) -> bool:
        with self.db.session() as session:
            changed = session.execute(update(RenderJob).where(*where).values(task_id=task_id)
                                      .execution_options(synchronize_session=False)).rowcount
            session.commit()
        return bool(changed)

    def cancelled(self, job_id: str) -> None:
        """A pending job's task is revoked (it never starts); a running job's worker notices
        at its next heartbeat write and stops Blender."""
        with self.db.session() as session:
            job = session.get(RenderJob, job_id)
            task_id = job.task_id if job is not None else None
        if task_id:
            try:
                self.render_huey.revoke_by_id(task_id, revoke_once=True)
            except BROKER_ERRORS as error:  # its task, when it runs, finds the job cancelled
                _log.warning("job %s: cancelled; its task could not be revoked (%s)", job_id,
                             describe(error))

    def health(self) -> str:
        self.render_huey.storage.queue_size()
        return "ok"

    # -- consumers -----------------------------------------------------------------------------

    def start(self, *, render_workers: int, maintenance: bool) -> None:
        """Start consumer threads in this process (and the heartbeat and the stall watchdog).
        `maintenance` is `serve`'s queue process; a `tshirt-service worker` has none."""
        liveness.register(self.db, self.settings.worker_name,
                          "serve" if maintenance else "worker", render_workers)
        self._registered = True
        remove_stale_scratch(self.db, self.worker.storage)
        self.worker.heartbeat.start()
        poll = {} if self.settings.redis_url else {"max_delay": SQLITE_MAX_POLL_S}
        if render_workers > 0:
            self.consumers.append(EmbeddedConsumer(
                self.render_huey, workers=render_workers, periodic=False,
                initial_delay=0.05, backoff=1.5, check_worker_health=False, **poll))
        if maintenance:
            self.consumers.append(EmbeddedConsumer(
                self.maintenance_huey, workers=1, periodic=True, initial_delay=0.1,
                backoff=1.5, max_delay=2.0, check_worker_health=False))
        for consumer in self.consumers:
            consumer.start()
        self._watchdog = threading.Thread(target=self._watch, name="stall-watchdog",
                                          daemon=True)
        self._watchdog.start()
        if maintenance:
            threading.Thread(target=self._sweep_unqueued, name="unqueued-sweep",
                             daemon=True).start()
        _log.info("queue: %d render worker(s)%s on %s", render_workers,
                  " + scheduled cleanup" if maintenance else "",
                  "Redis" if self.settings.redis_url else "SQLite")

    def check_stalls(self) -> list[str]:
        """Requeue the jobs of workers that died (see `stalls`); this process's own renders
        are spared."""
        return requeue_stalled(self.db, self.settings, self.enqueue_in,
                               alive=self.worker.active_tokens())

    def _watch(self) -> None:
        while not self._watchdog_stop.wait(self.settings.stall_check_s):
            try:
                self.check_stalls()
            except Exception:  # noqa: BLE001 - keep watching; the database may come back
                _log.exception("stall check failed")

    def _sweep_unqueued(self) -> None:
        while not self._watchdog_stop.wait(UNQUEUED_SWEEP_S):
            try:
                self.enqueue_unqueued()
            except Exception:  # noqa: BLE001 - keep sweeping; the database may come back
                _log.exception("the sweep for unqueued jobs failed")

    def stop(self, wait_s: float = 10.0) -> None:
        """Stop taking tasks, stop running renders (their jobs are requeued), stop threads."""
        self._watchdog_stop.set()
        for consumer in self.consumers:
            consumer.stop_flag.set()
        self.worker.shutdown(wait_s)
        for consumer in self.consumers:
            for _worker, thread in consumer.worker_threads:
                thread.join(2.0)
            consumer.scheduler.join(2.0)
        self.consumers.clear()
        if self._registered:
            self._registered = False
            try:
                liveness.stopped(self.db, self.settings.worker_name)
            except Exception:  # noqa: BLE001 - the row then just ages; the database is away
                _log.warning("could not record that %s stopped", self.settings.worker_name)


def get_queue(app: Flask) -> QueueRuntime:
    return app.extensions[EXTENSION]

