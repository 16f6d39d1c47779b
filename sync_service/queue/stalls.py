"""What a dead queue process leaves behind: its jobs and its scratch folders.

Jobs: a running job whose heartbeat is older than the stall limit goes back to `pending` (or
fails, after the attempt limit). `requeue_stalled` needs only the database and a way to enqueue,
not a worker: `serve`'s supervisor runs it (a process that never renders, so the check survives
any queue process, on SQLite and Redis alike) and so does every queue process, for its peers on
other machines. When `serve` sees its own queue process end it does not wait for the limit: it
requeues that process's jobs at once (`requeue_jobs_of`). Each change is one conditional
UPDATE, so several processes checking at once cannot both requeue a job.

Scratch: a run renders in `tmp/render-<job id>-<run>` of its machine's data directory, named
after its run token. A folder whose run no longer holds its job (the job was requeued, failed,
finished or was taken over) is stale: `remove_stale_scratch` deletes those of one machine. Every
queue process sweeps its own machine's at start and after each job, and `serve` after it
requeued jobs, so a killed render's files never wait for the daily cleanup.
"""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from shared.errors import InvalidTransition
from shared.jobs import JobSource, JobStatus

from ..config import QueueSettings
from ..db import Database
from ..ids import JOB_ID_RE
from ..jobs.storage import TMP_DIR, Storage
from ..jobs.transitions import RUNNING_VALUES, transition
from ..models import RenderJob

_log = logging.getLogger(__name__)

SCRATCH_PREFIX = "render-"
_SCRATCH_NAME = re.compile(rf"{SCRATCH_PREFIX}(?P<job>{JOB_ID_RE.pattern})-(?P<run>[^-]+)")


# -- jobs --------------------------------------------------------------------------------------


def requeue_stalled(db: Database, settings: QueueSettings,
                    enqueue: Callable[[str, float], None], *,
                    alive: Collection[str] = ()) -> list[str]:
    """Requeue (or fail) the stalled jobs; returns the ids requeued. `alive` are run tokens of
    renders known to be running (in the calling process): slow to write, e.g. on a locked
    database, but not lost."""
    cutoff = datetime.now(UTC) - timedelta(seconds=settings.stall_after_s)
    if db.engine.dialect.name == "sqlite":
        cutoff = cutoff.replace(tzinfo=None)  # SQLite stores naive UTC
    rows = _running(db, RenderJob.heartbeat_at < cutoff)
    return _requeue(db, settings, enqueue, [row for row in rows if row.worker_id not in alive],
                    "stopped responding")


def requeue_jobs_of(db: Database, settings: QueueSettings,
                    enqueue: Callable[[str, float], None], worker_name: str,
                    cause: str) -> list[str]:
    """Requeue (or fail) at once the jobs held by the queue process `worker_name`, which has
    just been seen to end (`cause`: how, for the job's error message)."""
    rows = _running(db, RenderJob.worker_id.startswith(f"{worker_name}/", autoescape=True))
    return _requeue(db, settings, enqueue, rows, f"ended ({cause})")


def _running(db: Database, condition: Any) -> Sequence[Any]:
    with db.session() as session:
        return session.execute(
            select(RenderJob.id, RenderJob.attempts, RenderJob.worker_id)
            .where(RenderJob.status.in_(RUNNING_VALUES), RenderJob.source == JobSource.API,
                   condition)
        ).all()


def _requeue(db: Database, settings: QueueSettings, enqueue: Callable[[str, float], None],
             rows: Sequence[Any], what: str) -> list[str]:
    requeued = []
    for row in rows:
        message = f"The worker rendering this job {what} ({row.worker_id or 'unknown'})."
        with db.session() as session:
            try:
                if row.attempts < settings.max_attempts:
                    if transition(session, row.id, JobStatus.PENDING, stage="requeued",
                                  error_code="worker_lost", error_message=message,
                                  worker_id=None, heartbeat_at=None):
                        _log.warning("job %s: worker %s %s; requeued", row.id, row.worker_id,
                                     what)
                        enqueue(row.id, 0)
                        requeued.append(row.id)
                else:
                    transition(session, row.id, JobStatus.FAILED, error_code="worker_lost",
                               error_message=message, stage="failed")
                    _log.warning("job %s: worker %s %s on the last attempt; failed", row.id,
                                 row.worker_id, what)
            except InvalidTransition:
                continue  # another process, or the worker itself, changed it first
    return requeued


# -- scratch folders ---------------------------------------------------------------------------


def scratch_dir(storage: Storage, job_id: str, token: str) -> Path:
    """Make the scratch folder of the run `token` of `job_id` (empty, new)."""
    folder = storage.root / TMP_DIR / f"{SCRATCH_PREFIX}{job_id}-{_run_of(token)}"
    folder.mkdir(parents=True)
    return folder


def remove_stale_scratch(db: Database, storage: Storage) -> list[Path]:
    """Delete the scratch folders in this machine's data directory whose run no longer holds
    its job; returns them. Only tidying: a failure is logged, and the next sweep tries again."""
    try:
        return _remove_stale_scratch(db, storage)
    except Exception:  # noqa: BLE001 - e.g. the database away; nothing depends on it
        _log.exception("removing stale render folders failed")
        return []


def _remove_stale_scratch(db: Database, storage: Storage) -> list[Path]:
    # Folders are listed before the jobs are read, and a run makes its folder only after its
    # claim is committed, so a live run's folder is never taken.
    tmp = storage.root / TMP_DIR
    try:
        folders = [entry for entry in tmp.iterdir() if entry.name.startswith(SCRATCH_PREFIX)]
    except OSError:  # no tmp folder yet
        return []
    found = {entry: JOB_ID_RE.search(entry.name) for entry in folders}
    job_ids = sorted({match.group(0) for match in found.values() if match})
    if not job_ids:
        return []
    with db.session() as session:
        holders = dict(session.execute(
            select(RenderJob.id, RenderJob.worker_id)
            .where(RenderJob.id.in_(job_ids), RenderJob.status.in_(RUNNING_VALUES))).all())
    removed = []
    for entry, match in found.items():
        if match is None:
            continue
        holder = holders.get(match.group(0))
        name = _SCRATCH_NAME.fullmatch(entry.name)
        if holder is not None and (name is None or _run_of(holder) == name.group("run")):
            continue  # its run still holds the job (or a name of no run we can tell)
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    if removed:
        _log.info("removed %d stale render folder(s): %s", len(removed),
                  ", ".join(entry.name for entry in removed))
    return removed


def _run_of(token: str) -> str:
    """The run part of a run token (`<worker name>/<run>`)."""
    return token.rsplit("/", 1)[-1]
