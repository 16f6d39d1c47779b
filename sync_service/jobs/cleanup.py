"""Deleting files nobody needs any more: the rules behind `tshirt-service cleanup` and the daily
scheduled task (a Huey periodic task, see `queue`), by age:

- temporary files (`tmp/`: render scratch folders, interrupted uploads) older than 24 hours,
  except the scratch folder of a job that is still running;
- the files of failed and cancelled jobs that finished more than 7 days ago (the job rows stay:
  they are the history; retrying such a job then reports that its design is gone);
- orphans: job folders without a job row (older than an hour, so a job being created right now
  is never mistaken for one), and stale staging folders of interrupted output uploads.

Whatever the rules say, nothing is deleted that a job still references as an output, nor the
design of a job that is not itself being cleaned up.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.jobs import RUNNING, JobStatus

from ..ids import JOB_ID_RE
from ..models import RenderJob
from .storage import TMP_DIR, Storage

TEMP_MAX_AGE_S = 24 * 3600
FINISHED_MAX_AGE_S = 7 * 24 * 3600
ORPHAN_MIN_AGE_S = 3600
STAGING_MAX_AGE_S = 24 * 3600
_DONE = (JobStatus.FAILED.value, JobStatus.CANCELLED.value)
_RUNNING = sorted(s.value for s in RUNNING)


@dataclass(frozen=True)
class Removal:
    path: Path
    reason: str


@dataclass(frozen=True)
class Rules:
    temp_max_age_s: float = TEMP_MAX_AGE_S
    finished_max_age_s: float = FINISHED_MAX_AGE_S
    orphan_min_age_s: float = ORPHAN_MIN_AGE_S
    staging_max_age_s: float = STAGING_MAX_AGE_S


def _age(path: Path, now: float) -> float:
    try:
        return now - path.stat().st_mtime
    except OSError:
        return 0.0


def _timestamp(value: datetime | None) -> float | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def plan_cleanup(session: Session, storage: Storage, now: float | None = None,
                 rules: Rules = Rules()) -> list[Removal]:
    now = time.time() if now is None else now
    plan: list[Removal] = []

    # Temporary files.
    running = set(session.scalars(select(RenderJob.id).where(RenderJob.status.in_(_RUNNING))))
    tmp = storage.root / TMP_DIR
    if tmp.is_dir():
        for entry in sorted(tmp.iterdir()):
            match = JOB_ID_RE.search(entry.name)
            if match and match.group(0) in running:
                continue
            if _age(entry, now) > rules.temp_max_age_s:
                plan.append(Removal(entry, "temporary file older than 24 h"))

    # Job folders.
    on_disk = storage.job_ids_on_disk()
    rows: dict[str, tuple[str, float | None]] = {}
    referenced: set[Path] = set()
    for start in range(0, len(on_disk), 500):
        chunk = on_disk[start:start + 500]
        for row in session.execute(
            select(RenderJob.id, RenderJob.status, RenderJob.completed_at,
                   RenderJob.updated_at, RenderJob.design_path, RenderJob.outputs)
            .where(RenderJob.id.in_(chunk))
        ):
            finished = _timestamp(row.completed_at or row.updated_at)
            rows[row.id] = (row.status, finished)
            expired = (row.status in _DONE and finished is not None
                       and now - finished > rules.finished_max_age_s)
            if not expired:
                referenced.add(storage.path(row.design_path))
            for output in row.outputs or []:
                referenced.add(storage.path(output["path"]))

    for job_id in on_disk:
        folder = storage.path(storage.job_dir(job_id))
        if job_id not in rows:
            if _age(folder, now) > rules.orphan_min_age_s:
                plan.append(Removal(folder, "no job in the database"))
            continue
        status, finished = rows[job_id]
        if (status in _DONE and finished is not None
                and now - finished > rules.finished_max_age_s):
            plan.append(Removal(folder, f"{status} job finished more than 7 days ago"))
            continue
        for staging in sorted(folder.glob(".staging-*")):
            if status not in _RUNNING and _age(staging, now) > rules.staging_max_age_s:
                plan.append(Removal(staging, "interrupted output upload"))

    return [r for r in plan if not _holds_reference(r.path, referenced)]


def _holds_reference(path: Path, referenced: set[Path]) -> bool:
    resolved = path.resolve()
    return any(ref == resolved or resolved in ref.parents for ref in referenced)


def run_cleanup(plan: list[Removal]) -> None:
    for removal in plan:
        if removal.path.is_dir():
            shutil.rmtree(removal.path, ignore_errors=True)
        else:
            removal.path.unlink(missing_ok=True)
