"""The one way to change a job's status (and its media-sync status): a single conditional UPDATE
(`... WHERE id = ? AND status IN sources_for(target)`), so that when two writers race (a cancel
and a completion, two workers claiming a job) the database lets exactly one of them match.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from shared.contracts import ProgressEvent
from shared.errors import NotFound
from shared.jobs import (
    RUNNING,
    TERMINAL,
    JobStatus,
    MediaSyncStatus,
    check_transition,
    media_sources_for,
    progress_percent,
    sources_for,
)

from ..errors import Conflict
from ..models import RenderJob, utcnow

#: The running statuses as stored, for the conditional UPDATEs and queries on them.
RUNNING_VALUES = tuple(sorted(s.value for s in RUNNING))


def transition(session: Session, job_id: str, target: str | JobStatus,
               **values: Any) -> bool:
    """Move a job to `target` if the state machine allows it from the job's current status,
    setting `values` in the same UPDATE. Commits.

    Returns True when this call changed the status, False when the job already had `target`
    (a no-op). Raises NotFound, or InvalidTransition (409) when the job is in a status `target`
    cannot be entered from -- including when another writer changed it first.
    """
    target = JobStatus(target)
    now = utcnow()
    changes: dict[str, Any] = {"status": target.value, "updated_at": now, **values}
    if target in RUNNING:
        changes.setdefault("started_at", func.coalesce(RenderJob.started_at, now))
    if target in TERMINAL:
        changes.setdefault("completed_at", now)
    if target == JobStatus.COMPLETED:
        changes.setdefault("progress", 100)
    if target in (JobStatus.FAILED, JobStatus.CANCELLED):
        # A store waiting for this render will get none (in the same UPDATE, so it never lies).
        changes.setdefault("media_sync_status", case(
            (RenderJob.media_sync_status == MediaSyncStatus.WAITING_FOR_RENDER.value,
             MediaSyncStatus.NO_RENDER.value), else_=RenderJob.media_sync_status))
    current = _update_if(session, job_id, RenderJob.status, sources_for(target), changes)
    if current is None:
        return True
    check_transition(current, target)  # raises unless current == target
    return False


def _update_if(session: Session, job_id: str, column: Any, sources: Iterable[str],
               values: dict[str, Any]) -> str | None:
    """One conditional UPDATE of a job whose `column` is in `sources`, so that of two writers
    racing on a job only one can win. None when it won; otherwise the column's current value."""
    result = session.execute(
        update(RenderJob)
        .where(RenderJob.id == job_id, column.in_(sorted(str(s) for s in sources)))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 1:
        session.commit()
        session.expire_all()
        return None
    session.rollback()
    current = session.scalar(select(column).where(RenderJob.id == job_id))
    if current is None:
        raise NotFound(f"No render job {job_id!r}.")
    return current


def set_media_status(session: Session, job_id: str, target: str | MediaSyncStatus,
                     **values: Any) -> bool:
    """The media-sync counterpart of `transition` (issue 7 drives it)."""
    target = MediaSyncStatus(target)
    current = _update_if(session, job_id, RenderJob.media_sync_status,
                         media_sources_for(target),
                         {"media_sync_status": target.value, "updated_at": utcnow(), **values})
    if current is None:
        return True
    if current != target.value:
        raise Conflict(f"Media sync cannot go from {current} to {target.value}.",
                       code="invalid_transition")
    return False


def record_progress(session: Session, job_id: str, worker_id: str, status: str,
                    event: ProgressEvent | None = None) -> bool:
    """The one progress write: a running job's heartbeat and, with `event`, its stage, counts
    and percentage (as of `status`, the running status its worker moved it to). Guarded in the
    UPDATE itself: it lands only while the job is running and still held by `worker_id`. False
    when it is not (cancelled, requeued, taken over), so a late event cannot resurrect a job and
    the worker knows to stop its render."""
    now = utcnow()
    values: dict[str, Any] = {"heartbeat_at": now, "updated_at": now}
    if event is not None:
        values.update(
            stage=event.stage, images_done=event.images_done,
            images_total=event.images_total, frames_done=event.frames_done,
            frames_total=event.frames_total,
            progress=progress_percent(status, images_done=event.images_done,
                                      images_total=event.images_total,
                                      frames_done=event.frames_done,
                                      frames_total=event.frames_total))
    result = session.execute(
        update(RenderJob)
        .where(RenderJob.id == job_id, RenderJob.worker_id == worker_id,
               RenderJob.status.in_(RUNNING_VALUES))
        .values(**values)
        .execution_options(synchronize_session=False))
    session.commit()
    return result.rowcount == 1
