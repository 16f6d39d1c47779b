"""Jobs whose worker died: a running job whose heartbeat is older than the stall limit goes back
to `pending` (or fails, after the attempt limit).

It needs only the database and a way to enqueue, not a worker: any process can run it (today
each queue process does, from `QueueRuntime`'s watchdog). Each change is one conditional UPDATE,
so several processes checking at once cannot both requeue a job.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from shared.errors import InvalidTransition
from shared.jobs import JobSource, JobStatus

from ..config import QueueSettings
from ..db import Database
from ..jobs.transitions import RUNNING_VALUES, transition
from ..models import RenderJob

_log = logging.getLogger(__name__)


def requeue_stalled(db: Database, settings: QueueSettings,
                    enqueue: Callable[[str, float], None], *,
                    alive: Collection[str] = ()) -> list[str]:
    """Requeue (or fail) the stalled jobs; returns the ids requeued. `alive` are run tokens of
    renders known to be running (in the calling process): slow to write, e.g. on a locked
    database, but not lost."""
    cutoff = datetime.now(UTC) - timedelta(seconds=settings.stall_after_s)
    if db.engine.dialect.name == "sqlite":
        cutoff = cutoff.replace(tzinfo=None)  # SQLite stores naive UTC
    with db.session() as session:
        rows = session.execute(
            select(RenderJob.id, RenderJob.attempts, RenderJob.worker_id)
            .where(RenderJob.status.in_(RUNNING_VALUES), RenderJob.source == JobSource.API,
                   RenderJob.heartbeat_at < cutoff)
        ).all()
    requeued = []
    for row in rows:
        if row.worker_id in alive:
            continue
        message = ("The worker rendering this job stopped responding "
                   f"({row.worker_id or 'unknown'}).")
        with db.session() as session:
            try:
                if row.attempts < settings.max_attempts:
                    if transition(session, row.id, JobStatus.PENDING, stage="requeued",
                                  error_code="worker_lost", error_message=message,
                                  worker_id=None, heartbeat_at=None):
                        _log.warning("job %s: worker %s lost; requeued", row.id, row.worker_id)
                        enqueue(row.id, 0)
                        requeued.append(row.id)
                else:
                    transition(session, row.id, JobStatus.FAILED, error_code="worker_lost",
                               error_message=message, stage="failed")
                    _log.warning("job %s: worker %s lost on the last attempt; failed", row.id,
                                 row.worker_id)
            except InvalidTransition:
                continue  # another process, or the worker itself, changed it first
    return requeued
