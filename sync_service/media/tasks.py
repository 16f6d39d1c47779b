"""The store push as a queued task: one Huey task per push, retried with exponential back-off
for `TSHIRT_PUSH_RETRY_FOR_S` (two hours by default), scheduled in the queue's storage so a
restart picks it up again; a periodic sweep requeues pushes whose task was lost with a killed
process or never made because the queue's broker was away. The render itself is never touched:
a store that is down only delays the push.

The app factory plugs a `MediaPusher` into the service's hooks when a store is configured:
`completed` queues a push of every finished render, `push` is what
`POST /admin/render-jobs/<id>/push` calls, `check_product` runs when jobs are created. Without
`MEDUSA_URL` nothing is plugged in and pushes stay `not_configured`.

The task lives on the queue's maintenance Huey: it is consumed where the data directory (and so
the outputs) is, one task at a time, so two pushes never edit one product at once.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from huey import Huey, crontab
from sqlalchemy import select

from shared.errors import NotFound, SyncFailed
from shared.jobs import JobStatus, MediaSyncStatus

from ..config import MediaSettings
from ..db import Database
from ..jobs.storage import Storage
from ..jobs.transitions import set_media_status
from ..models import MediaPush, RenderJob, utcnow
from .medusa import MedusaSink
from .push import PushResult, push_job, record_failure
from .sink import MediaSink

_log = logging.getLogger(__name__)

EXTENSION = "tshirt_media"
TASK_NAME = "push_media"
#: How often the sweep looks for pushes left `pending` with no task behind them.
SWEEP_CRONTAB = {"minute": "*"}
#: A first push that has not started this long after its render completed had no task (the
#: broker was away when it was queued). Pushing is idempotent, so a late duplicate is harmless.
UNSTARTED_AFTER_S = 60


class MediaPusher:
    """Pushes of one app: the sink factory, the Huey task and the hooks."""

    def __init__(self, settings: MediaSettings, db: Database, storage: Storage,
                 huey: Huey) -> None:
        self.settings = settings
        self.db = db
        self.storage = storage
        self.huey = huey

        @huey.task(name=TASK_NAME)
        def push_media(job_id: str, first_attempt_at: float | None = None) -> None:
            self.run(job_id, first_attempt_at)

        @huey.periodic_task(crontab(**SWEEP_CRONTAB), name="push_media_sweep")
        def sweep() -> int:
            return self.requeue_stale()

        self.task = push_media
        self.sweep_task = sweep

    def make_sink(self) -> MediaSink:
        s = self.settings
        assert s.medusa_url
        return MedusaSink(s.medusa_url, api_key=s.api_key, email=s.email, password=s.password,
                          timeout_s=s.timeout_s)

    # -- hooks -----------------------------------------------------------------------------

    def enqueue(self, job_id: str, delay_s: float = 0, first_attempt_at: float | None = None
                ) -> None:
        """Queue a push. With the broker away the push stays `pending` and the sweep queues
        it once the broker answers: a finished render's upload must not fail on the queue."""
        try:
            if delay_s > 0:
                self.task.schedule((job_id, first_attempt_at), delay=delay_s)
            else:
                self.task(job_id, first_attempt_at)
        except Exception as exc:  # noqa: BLE001 - Redis or the SQLite queue file, any failure
            _log.warning("push of job %s recorded but not queued (the queue's broker is "
                         "unreachable: %s); the sweep queues it", job_id, exc)

    def completed(self, job_id: str) -> None:
        """A render finished: its push is now pending and queued."""
        with self.db.session() as session:
            set_media_status(session, job_id, MediaSyncStatus.PENDING)
        self.enqueue(job_id)

    def check_product(self, product_id: str) -> str | None:
        """Refuse a job for a product the store does not have. A store that cannot be asked
        right now does not block the job (its push waits for the store anyway): the answer is
        then a warning for the job's submitter, since the product id went unchecked."""
        sink = self.make_sink()
        try:
            exists = sink.product_exists(product_id)
        except SyncFailed as error:
            _log.warning("could not check product %s in the store: %s", product_id,
                         error.message)
            return (f"The store could not be reached to check that product {product_id!r} "
                    f"exists ({error.message}); the job was accepted and its push waits for "
                    f"the store.")
        finally:
            sink.close()
        if not exists:
            raise NotFound(f"The store has no product {product_id!r}; create it in Medusa "
                           f"first, or check the product id.", code="product_not_found")
        return None

    # -- the task --------------------------------------------------------------------------

    def run(self, job_id: str, first_attempt_at: float | None = None) -> PushResult | None:
        """One attempt. A retryable failure schedules the next one after the back-off, until
        the retry window is spent; then (or on a refusal) the push is `failed`."""
        first = first_attempt_at or time.time()
        sink = self.make_sink()
        try:
            return push_job(self.db, self.storage, sink, job_id,
                            replace=self.settings.replace)
        except NotFound:
            _log.warning("push of job %s: the job no longer exists", job_id)
            return None
        except SyncFailed as error:
            if not error.retryable:
                return None
            attempts = self._attempts(job_id, sink.name)
            delay = self.settings.delay_for(attempts)
            if time.time() + delay - first > self.settings.retry_for_s:
                _log.error("push of job %s: giving up after %d attempt(s): %s", job_id,
                           attempts, error.message)
                record_failure(self.db, job_id, sink.name, error, final=True)
                return None
            _log.info("push of job %s: attempt %d failed; next in %.0f s", job_id, attempts,
                      delay)
            self.enqueue(job_id, delay, first)
            return None
        finally:
            sink.close()

    def _attempts(self, job_id: str, sink: str) -> int:
        with self.db.session() as session:
            return session.scalar(select(MediaPush.attempts).where(
                MediaPush.job_id == job_id, MediaPush.sink == sink)) or 1

    def requeue_stale(self) -> int:
        """Queue again every completed job whose push is `pending` but has not moved for
        longer than the longest back-off (its task was lost, e.g. with a killed process), or
        whose first push never started (its task was never made: the broker was away)."""
        now = utcnow()
        cutoff = now - timedelta(seconds=self.settings.max_delay_s + 600)
        started = select(MediaPush.id).where(MediaPush.job_id == RenderJob.id).exists()
        with self.db.session() as session:
            job_ids = list(session.scalars(select(RenderJob.id).where(
                RenderJob.status == JobStatus.COMPLETED.value,
                RenderJob.media_sync_status == MediaSyncStatus.PENDING.value,
                (RenderJob.updated_at < cutoff)
                | (~started & (RenderJob.updated_at < now - timedelta(
                    seconds=UNSTARTED_AFTER_S))))))
        for job_id in job_ids:
            self.enqueue(job_id)
        if job_ids:
            _log.info("requeued %d stalled push(es)", len(job_ids))
        return len(job_ids)

