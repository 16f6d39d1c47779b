"""Running one queued job: claim it, run Blender, follow its progress, record the outcome.

A worker claims a job with the conditional transition `pending` -> `compositing` (two workers
cannot both win) and stamps it with a run token (`worker_id`). From the claim to the end of the
run, the worker's heartbeat thread (`liveness.Heartbeat`) writes the job's heartbeat every
`heartbeat_s`, whatever Blender, a download or an upload is doing; progress is written with it
at most as often. Each write is guarded by the run token and a running status: when it matches
nothing, the job was cancelled or given to another worker, and this run stops its Blender at
once. Each run renders in a scratch folder named after its token; stale ones (of runs that lost
their job, on this machine) are removed after every job (see `stalls`).

Failures are sorted by what a retry can do (see `outcomes`): a crash, a time-out or a lost
worker goes back to `pending` with a back-off until the attempt limit; bad input (the CLI's exit
code says which) and a full or read-only data directory fail at once; an unreachable service or
database gives the job back without counting the attempt. Attempts are counted in the job row,
not in the queue, so an attempt lost with a killed worker counts too. A finished render is
delivered through `uploads`: kept on this disk until the service takes it.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from sqlalchemy import select

from shared.child_process import ChildRun
from shared.contracts import Manifest, ProgressEvent
from shared.errors import InvalidTransition, TshirtError
from shared.jobs import JobSource, JobStatus

from ..config import QueueSettings
from ..db import Database
from ..ids import new_ulid
from ..jobs.storage import Storage
from ..jobs.transitions import RUNNING_VALUES, record_progress, transition
from ..models import RenderJob, utcnow
from . import liveness
from .designs import print_copies
from .gate import OUTAGE_ERRORS, ServiceGate, outage_reason, ping
from .outcomes import Failure, Outcomes, failure_of, one_line, persist, unexpected_failure
from .remote import ServiceClient
from .runner import job_command, job_spec
from .stalls import remove_stale_scratch, scratch_dir
from .template_cache import TemplateFolders
from .uploads import STAGE_WAITING, PendingUpload, Uploads

_log = logging.getLogger(__name__)

#: Stages of the renderer after the scene is built: the job is then `rendering`.
RENDERING_STAGES = frozenset({"rendering", "animating", "encoding", "done"})


#: Seconds between the SIGTERM and the SIGKILL of a renderer that is stopped.
KILL_GRACE_S = 3.0


#: A worker that takes no jobs now (see `gate`) hands a task back and waits this long, so that
#: it does not spin through the queue.
HAND_BACK_PAUSE_S = 1.0


@dataclass
class ActiveRun:
    job_id: str
    token: str
    #: Set once the renderer started, so that a shutdown can cancel it.
    child: ChildRun | None = None
    stop_reason: str | None = None  # "lost" (cancelled / taken over) or "shutdown"
    #: When the job's heartbeat was last written (monotonic): the claim, a progress write.
    last_beat: float = field(default_factory=time.monotonic)


class RenderWorker:
    """Executes render jobs; shared by every consumer thread of one process."""

    def __init__(self, settings: QueueSettings, db: Database, storage: Storage, *,
                 enqueue: Callable[[str, float], None],
                 completed: Callable[[str], None] = lambda _job_id: None) -> None:
        self.settings = settings
        self.db = db
        self.storage = storage
        self.enqueue = enqueue
        self.completed = completed
        self.client = (ServiceClient(settings.service_url, settings.service_token or "")
                       if settings.remote else None)
        self.uploads = Uploads(settings, db, storage, self.client)
        self.templates = TemplateFolders(storage, self.client)
        self.outcomes = Outcomes(settings, db, lambda job_id, delay: self.enqueue(job_id, delay))
        self.gate = ServiceGate(settings, self.client.check if self.client else partial(ping, db))
        #: Set when the worker shuts down: waits for the service or the database end.
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self.active: dict[str, ActiveRun] = {}
        #: Instrumentation for benchmarks and tests: called with the job id once Blender started.
        self.on_blender_started: Callable[[str], None] | None = None
        #: Started by the queue runtime, or by the first run (tests call `run` directly).
        self.heartbeat = liveness.Heartbeat(f"heartbeat {settings.worker_name}",
                                            settings.heartbeat_s, self.beat)

    # -- the task ------------------------------------------------------------------------------

    def run(self, job_id: str) -> None:
        """The render task's body. Never raises for job-level problems: the outcome goes into
        the job row."""
        if not self.gate.is_open():
            self._hand_back(job_id)
            return
        token = f"{self.settings.worker_name}/{new_ulid()[-8:]}"
        if not self._claim(job_id, token):
            return
        run = ActiveRun(job_id, token)
        with self._lock:
            self.active[job_id] = run
        self.heartbeat.start()
        work: Path | None = None
        try:
            work = scratch_dir(self.storage, job_id, token)
            self._render(run, work)
        except Failure as failure:
            self._fail_or_retry(run, failure)
        except OUTAGE_ERRORS as error:
            reason = outage_reason(error)
            self.gate.away(f"job {job_id}: {reason}")
            self._give_back(run, STAGE_WAITING, "service_unreachable", reason)
        except Exception as error:  # noqa: BLE001 - a bug here must not lose the job
            self._fail_or_retry(run, unexpected_failure(job_id, error, self.storage.root))
        finally:
            if work is not None:
                shutil.rmtree(work, ignore_errors=True)
            with self._lock:
                self.active.pop(job_id, None)
            remove_stale_scratch(self.db, self.storage)

    def _claim(self, job_id: str, token: str) -> bool:
        with self.db.session() as session:
            job = session.get(RenderJob, job_id)
            if job is None:
                _log.warning("job %s: not in the database; dropping its task", job_id)
                return False
            if job.source != JobSource.API or job.status != JobStatus.PENDING:
                _log.info("job %s: %s, not pending; nothing to do", job_id, job.status)
                return False
            now = utcnow()
            try:
                claimed = transition(
                    session, job_id, JobStatus.COMPOSITING, worker_id=token,
                    attempts=RenderJob.attempts + 1, heartbeat_at=now, stage="starting",
                    progress=0, images_done=0, images_total=0, frames_done=0, frames_total=0,
                )
            except InvalidTransition:
                return False  # cancelled since it was read
        if claimed:
            _log.info("job %s: claimed by %s", job_id, token)
        return claimed

    def _job(self, job_id: str) -> RenderJob:
        with self.db.session() as session:
            job = session.get(RenderJob, job_id)
            if job is None:
                raise Failure("not_found", "The job disappeared.", False)
            _ = job.prints  # loaded while attached: expunged with it
            session.expunge(job)
            return job

    def _render(self, run: ActiveRun, work: Path) -> None:
        job = self._job(run.job_id)
        designs = print_copies(job, work, self.storage, self.client)
        template = self.templates.ref(job.template_id)
        out = work / "out"
        out.mkdir()
        try:
            command = job_command(self.settings, job_spec(job, designs, out,
                                                          self.settings.render_overrides,
                                                          template=template), work)
        except TshirtError as error:
            raise Failure(error.code, error.message, False) from None
        child = ChildRun(command, time_limit_s=self.settings.render_timeout_s, cwd=work,
                         kill_grace_s=KILL_GRACE_S)
        follower = _Follower(self, run)
        if run.stop_reason is not None:
            return
        try:
            child.start()
        except TshirtError as error:
            raise Failure(error.code, one_line(error.message), True) from None
        run.child = child
        if run.stop_reason is not None:  # a shutdown that came while it started
            child.cancel()
        if self.on_blender_started is not None:
            self.on_blender_started(job.id)
        _log.info("job %s: Blender started (%.2f s after the job was created)", job.id,
                  (datetime.now(UTC) - _aware(job.created_at)).total_seconds())
        try:
            outcome = child.run(follower.on_event, follower.on_tick,
                                tick_s=min(0.5, self.settings.heartbeat_s))
        finally:
            child.close()
        follower.flush()
        if outcome.cancelled or run.stop_reason is not None:
            self._stopped(run)
            return
        error = outcome.error()
        if error is not None:
            self.storage.check_writable()  # a full disk is called that, not a crash
            raise failure_of(error)
        self._finish(run, job, out, follower.latest)

    def _finish(self, run: ActiveRun, job: RenderJob, out: Path,
                latest: ProgressEvent | None) -> None:
        try:
            Manifest.load(out).verify(out)
        except TshirtError as error:
            raise Failure("render_failed", one_line(error.message), True) from None
        if not self._owned(run):
            self._stopped(run)
            return
        with self.db.session() as session:
            try:
                transition(session, job.id, JobStatus.RENDERING)
            except InvalidTransition:
                self._stopped(run)
                return
        self.deliver(run, self.uploads.keep(job.id, run.token, out, latest), held=True)

    def deliver(self, run: ActiveRun, upload: PendingUpload,
                stopping: Callable[[], bool] | None = None, *, held: bool = False) -> None:
        """Deliver a finished render (see `uploads`); no new jobs are taken meanwhile. It stops
        when the run does (its job lost, or a shutdown) or `stopping()` says so; `held`: the
        caller just saw that the job is still the run's."""

        def stop() -> bool:
            if run.stop_reason is None and stopping is not None and stopping():
                run.stop_reason = "shutdown"
            return run.stop_reason is not None

        with self.gate.holding():
            delivery = self.uploads.deliver(upload, stop, held=held)
        if delivery.kind == "delivered":
            _log.info("job %s: completed%s", run.job_id, "" if self.client is None else
                      "; outputs uploaded (the service calls its own completed hook)")
            try:
                if self.client is None:
                    self.completed(run.job_id)
            except Exception:  # noqa: BLE001 - the render is done; the push has its own retries
                _log.exception("job %s: the completed hook failed", run.job_id)
        elif delivery.kind == "failed":
            raise Failure(delivery.code, one_line(delivery.message), delivery.retryable)
        elif delivery.kind == "expired":
            _log.warning("job %s: %s", run.job_id, delivery.message)
            self._give_back(run, "requeued", delivery.code, delivery.message)
        elif delivery.kind == "stopped" and run.stop_reason == "shutdown":
            _log.info("job %s: the finished render stays in %s for the next start",
                      run.job_id, upload.folder)
        else:
            self.uploads.discard(upload)
            _log.info("job %s: stopped (%s)", run.job_id, self._status(run.job_id) or "gone")

    def resume_uploads(self, stopping: Callable[[], bool]) -> None:
        """Deliver the finished renders an earlier run of this worker left on its disk (at
        start, before any new job)."""
        for upload in self.uploads.pending():
            run = ActiveRun(upload.job_id, upload.token)
            with self._lock:
                self.active[run.job_id] = run
            self.heartbeat.start()
            _log.info("job %s: delivering a render finished before a restart", run.job_id)
            try:
                held = persist(partial(self.uploads.adopt, upload), f"job {run.job_id}",
                               self.settings, stopping)
                if held:
                    self.deliver(run, upload, stopping, held=True)
                elif held is False:
                    self.uploads.discard(upload)
                    _log.info("job %s: no longer this worker's; its render dropped", run.job_id)
            except Failure as failure:
                self._fail_or_retry(run, failure)
            finally:
                with self._lock:
                    self.active.pop(run.job_id, None)
            if stopping():
                return

    # -- outcomes ------------------------------------------------------------------------------

    def _status(self, job_id: str) -> str | None:
        with self.db.session() as session:
            return session.scalar(select(RenderJob.status).where(RenderJob.id == job_id))

    def _owned(self, run: ActiveRun) -> bool:
        with self.db.session() as session:
            row = session.execute(select(RenderJob.status, RenderJob.worker_id)
                                  .where(RenderJob.id == run.job_id)).first()
        return row is not None and row.status in RUNNING_VALUES and row.worker_id == run.token

    def _stopped(self, run: ActiveRun) -> None:
        if run.stop_reason == "shutdown" and self._give_back(run, "queued"):
            # Not the job's fault: the attempt is given back and another worker takes it.
            _log.info("job %s: worker shutting down; job requeued", run.job_id)
        else:
            _log.info("job %s: stopped (%s)", run.job_id,
                      self._status(run.job_id) or "gone")

    @staticmethod
    def _shutting_down(run: ActiveRun) -> Callable[[], bool]:
        return lambda: run.stop_reason == "shutdown"

    def _fail_or_retry(self, run: ActiveRun, failure: Failure) -> None:
        self.outcomes.fail_or_retry(run.job_id, run.token, failure, self._shutting_down(run))

    def _give_back(self, run: ActiveRun, stage: str, code: str | None = None,
                   message: str | None = None) -> bool:
        return self.outcomes.give_back(run.job_id, run.token, stage=stage,
                                       stopping=self._shutting_down(run), error_code=code,
                                       error_message=message)

    def _hand_back(self, job_id: str) -> None:
        """Put a task back untouched while the gate is closed."""
        self.outcomes.requeue(job_id, 0, self.stopping.is_set)
        self.stopping.wait(HAND_BACK_PAUSE_S)

    # -- progress ------------------------------------------------------------------------------

    def write_progress(self, run: ActiveRun, status: str, event: ProgressEvent | None) -> bool:
        """Progress and heartbeat of a run; False once it no longer owns its job."""
        with self.db.session() as session:
            return record_progress(session, run.job_id, run.token, status, event)

    def start_rendering(self, run: ActiveRun) -> bool:
        with self.db.session() as session:
            try:
                transition(session, run.job_id, JobStatus.RENDERING)
            except InvalidTransition:
                return False
        return True

    def beat(self) -> None:
        """The heartbeat of this process and of every job it holds (on the heartbeat thread).
        A job whose write matches nothing is no longer this run's: the run stops."""
        liveness.beat(self.db, self.settings.worker_name)
        with self._lock:
            runs = list(self.active.values())
        for run in runs:
            if time.monotonic() - run.last_beat < self.settings.heartbeat_s:
                continue  # a progress write carried it
            run.last_beat = time.monotonic()
            with self.db.session() as session:
                # The status only weighs an event's progress; a bare heartbeat carries none.
                held = record_progress(session, run.job_id, run.token,
                                       JobStatus.COMPOSITING.value)
            if not held and run.stop_reason is None:
                run.stop_reason = "lost"  # the render stops at its next tick, and says why

    def active_tokens(self) -> set[str]:
        """The run tokens of the renders alive in this process (the stall check spares them)."""
        with self._lock:
            return {run.token for run in self.active.values()}

    def shutdown(self, wait_s: float = 10.0) -> None:
        """Stop every running Blender; their jobs go back to the queue."""
        self.stopping.set()
        with self._lock:
            runs = list(self.active.values())
        for run in runs:
            run.stop_reason = "shutdown"
            if run.child is not None:
                run.child.cancel()
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            with self._lock:
                if not self.active:
                    break
            time.sleep(0.05)
        self.heartbeat.stop()
        if self.client is not None:
            self.client.close()


class _Follower:
    """Turns progress events into throttled writes; stops Blender once the run must stop (its
    job lost, seen by a progress write or the heartbeat, or the worker shutting down)."""

    def __init__(self, worker: RenderWorker, run: ActiveRun) -> None:
        self.worker = worker
        self.run = run
        self.status = JobStatus.COMPOSITING.value
        self.latest: ProgressEvent | None = None
        self.dirty = False

    def on_event(self, event: ProgressEvent) -> bool:
        self.latest = event
        self.dirty = True
        if self.status == JobStatus.COMPOSITING and event.stage in RENDERING_STAGES:
            if not self.worker.start_rendering(self.run):
                return self._lost()
            self.status = JobStatus.RENDERING.value
            return self._write()
        # The heartbeat thread's bare writes count too: the job's row takes one write per
        # interval, not one from each thread.
        if time.monotonic() - self.run.last_beat >= self.worker.settings.heartbeat_s:
            return self._write()
        return False

    def on_tick(self) -> bool:
        return self.run.stop_reason is not None

    def flush(self) -> None:
        if self.dirty and self.run.stop_reason is None:
            self._write()

    def _write(self) -> bool:
        self.run.last_beat = time.monotonic()
        event, self.dirty = self.latest, False
        if not self.worker.write_progress(self.run, self.status, event):
            return self._lost()
        return False

    def _lost(self) -> bool:
        if self.run.stop_reason is None:
            self.run.stop_reason = "lost"
        return True


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
