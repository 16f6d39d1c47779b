"""What becomes of a job whose run ended without delivering outputs.

Attempts count render failures only. A render that crashed, timed out or was killed goes back
to `pending` with a back-off until the attempt limit, then fails; bad input, and a data
directory that is full or read-only, fail at once. Trouble with what the worker talks to (the
service, the database, the broker) is not the job's: the job is given back with its attempt
uncounted. Recording an outcome itself goes on through such trouble with back-off, one line
per try, until it lands or the worker stops (the stall check then has the job).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from shared.errors import InvalidTransition, NotFound, TshirtError
from shared.jobs import JobStatus

from ..config import QueueSettings
from ..db import Database
from ..jobs.storage import StorageFailed, storage_failure
from ..jobs.transitions import RUNNING_VALUES, transition
from ..models import RenderJob
from .broker import BROKER_ERRORS, describe
from .gate import OUTAGE_ERRORS, outage_reason

_log = logging.getLogger(__name__)

T = TypeVar("T")
#: Trouble that recording an outcome waits out.
PASSING_ERRORS = (*OUTAGE_ERRORS, *BROKER_ERRORS)
POLL_S = 0.2


def one_line(text: str, limit: int = 500) -> str:
    return " ".join(str(text).split())[:limit]


@dataclass
class Failure(Exception):
    code: str
    message: str
    retryable: bool


def failure_of(error: TshirtError) -> Failure:
    """How the queue treats a render that ended badly: bad input fails at once, a crash or a
    time-out is retried."""
    if error.code == "cancelled":
        # A cancel we did not ask for (exit 130, SIGTERM from outside) is a crash to the queue.
        return Failure("render_crashed", one_line(error.message), True)
    return Failure(error.code, one_line(error.message), error.retryable)


@contextlib.contextmanager
def fetch_failures() -> Iterator[None]:
    """What a worker fetches from the service (a design, a template): the service away passes
    through (the job waits, no attempt spent), a file it no longer has fails the job, any
    other refusal is worth another attempt."""
    try:
        yield
    except OUTAGE_ERRORS:
        raise
    except NotFound as error:
        raise Failure(error.code, error.message, False) from None
    except TshirtError as error:
        raise Failure(error.code, error.message, True) from None


def unexpected_failure(job_id: str, error: Exception, root: Path) -> Failure:
    """A full or read-only data directory fails the job at once (`storage_full`,
    `storage_unwritable`); anything else is a bug of the worker's, logged and retried."""
    failure = (error if isinstance(error, StorageFailed)
               else storage_failure(error, root) if isinstance(error, OSError) else None)
    if failure is not None:
        return Failure(failure.code, failure.message, False)
    _log.error("job %s: the worker failed", job_id, exc_info=error)
    return Failure("worker_error", one_line(
        f"The worker failed: {type(error).__name__}: {error}"), True)


def wait(seconds: float, stopping: Callable[[], bool]) -> bool:
    """Sleep `seconds`; False as soon as `stopping()`."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        if stopping():
            return False
        time.sleep(min(POLL_S, left))
    return not stopping()


def persist(action: Callable[[], T], what: str, settings: QueueSettings,
            stopping: Callable[[], bool]) -> T | None:
    """`action()`, tried again with back-off while the database or the broker is away; None
    when the worker stops first."""
    tries = 0
    while True:
        try:
            return action()
        except PASSING_ERRORS as error:
            tries += 1
            delay = settings.outage_delay(tries)
            reason = (outage_reason(error) if isinstance(error, OUTAGE_ERRORS)
                      else f"The broker cannot be reached ({describe(error)}).")
            _log.warning("%s: %s Trying again in %.1f s.", what, reason, delay)
            if not wait(delay, stopping):
                _log.warning("%s: not done (the worker stops)", what)
                return None


class Outcomes:
    """Records outcomes of runs; `enqueue` is looked up at each call (tests replace it)."""

    def __init__(self, settings: QueueSettings, db: Database,
                 enqueue: Callable[[str, float], None]) -> None:
        self.settings = settings
        self.db = db
        self.enqueue = enqueue

    def _held(self, job_id: str, token: str) -> tuple[bool, int]:
        """Whether the run of `token` still holds the job, and the job's attempts."""
        with self.db.session() as session:
            job = session.get(RenderJob, job_id)
            if job is None:
                return False, 0
            return job.status in RUNNING_VALUES and job.worker_id == token, job.attempts

    def fail_or_retry(self, job_id: str, token: str, failure: Failure,
                      stopping: Callable[[], bool]) -> None:
        """Back to `pending` with a back-off, or `failed`, if the run still holds the job."""
        message = one_line(failure.message) or failure.code
        found = persist(lambda: self._held(job_id, token), f"job {job_id}", self.settings,
                        stopping)
        if found is None:
            return
        held, attempts = found
        if not held:
            _log.info("job %s: %s after the job left this worker; ignored", job_id,
                      failure.code)
            return
        retry = failure.retryable and attempts < self.settings.max_attempts

        def record() -> bool:
            with self.db.session() as session:
                if retry:
                    return transition(session, job_id, JobStatus.PENDING, stage="retrying",
                                      error_code=failure.code, error_message=message,
                                      worker_id=None, heartbeat_at=None)
                return transition(session, job_id, JobStatus.FAILED, error_code=failure.code,
                                  error_message=message, stage="failed")

        try:
            if not persist(record, f"job {job_id}: recording {failure.code}", self.settings,
                           stopping):
                return
        except InvalidTransition:
            _log.info("job %s: changed status meanwhile; %s not recorded", job_id,
                      failure.code)
            return
        if not retry:
            _log.warning("job %s: failed after %d attempt(s): %s: %s", job_id, attempts,
                         failure.code, message)
            return
        delay = self.settings.retry_delay(attempts)
        _log.warning("job %s: attempt %d failed (%s: %s); retrying in %.0f s", job_id,
                     attempts, failure.code, message, delay)
        self.requeue(job_id, delay, stopping)

    def give_back(self, job_id: str, token: str, *, stage: str, stopping: Callable[[], bool],
                  error_code: str | None = None, error_message: str | None = None) -> bool:
        """Back to `pending` with the attempt uncounted, queued at once (another machine may
        take it); False when the job was no longer this run's."""

        def record() -> bool:
            with self.db.session() as session:
                held = session.get(RenderJob, job_id)
                if held is None or held.worker_id != token:
                    return False
                values: dict[str, object] = {"error_code": error_code,
                                             "error_message": error_message}
                return transition(session, job_id, JobStatus.PENDING, stage=stage,
                                  worker_id=None, heartbeat_at=None,
                                  attempts=RenderJob.attempts - 1,
                                  **{k: v for k, v in values.items() if v is not None})

        try:
            changed = persist(record, f"job {job_id}: giving it back", self.settings, stopping)
        except InvalidTransition:
            changed = False
        if changed:
            self.requeue(job_id, 0, stopping)
        return bool(changed)

    def requeue(self, job_id: str, delay_s: float, stopping: Callable[[], bool]) -> None:
        persist(lambda: self.enqueue(job_id, delay_s), f"job {job_id}: queueing",
                self.settings, stopping)
