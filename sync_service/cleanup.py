"""Finding files the database no longer references (issue 6 adds age rules and the schedule).

For now: job folders with no job row (orphans, e.g. left by a crash between writing the design
and inserting the job) and stale staging folders of interrupted output uploads.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import RenderJob
from .storage import Storage

STAGING_MAX_AGE_S = 24 * 3600


@dataclass(frozen=True)
class Removal:
    path: Path
    reason: str


def plan_cleanup(session: Session, storage: Storage, now: float | None = None) -> list[Removal]:
    now = time.time() if now is None else now
    on_disk = storage.job_ids_on_disk()
    known: set[str] = set()
    for start in range(0, len(on_disk), 500):
        chunk = on_disk[start:start + 500]
        known.update(session.scalars(select(RenderJob.id).where(RenderJob.id.in_(chunk))))
    plan = []
    for job_id in on_disk:
        folder = storage.path(storage.job_dir(job_id))
        if job_id not in known:
            plan.append(Removal(folder, "no job in the database"))
            continue
        for staging in folder.glob(".staging-*"):
            if now - staging.stat().st_mtime > STAGING_MAX_AGE_S:
                plan.append(Removal(staging, "interrupted output upload"))
    return plan


def run_cleanup(plan: list[Removal]) -> None:
    for removal in plan:
        if removal.path.is_dir():
            shutil.rmtree(removal.path, ignore_errors=True)
        else:
            removal.path.unlink(missing_ok=True)
