"""The scheduled cleanup: registered at start-up, and deleting exactly what it should."""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta
from pathlib import Path

from queue_helpers import submit
from sqlalchemy import update

from shared.jobs import JobStatus
from sync_service import cli
from sync_service.jobs import transitions
from sync_service.jobs.cleanup import plan_cleanup, run_cleanup
from sync_service.models import RenderJob
from sync_service.queue.runtime import get_queue

DAY = 24 * 3600


def _age(path: Path, seconds: float) -> None:
    stamp = time.time() - seconds
    os.utime(path, (stamp, stamp))


def test_the_service_starts_with_the_cleanup_schedule_registered(make_app) -> None:
    app = make_app(TSHIRT_RENDER_WORKERS=0)
    queue = get_queue(app)
    queue.start(render_workers=0, maintenance=True)  # as `serve`'s queue process does
    maintenance = [c for c in queue.consumers if c.huey is queue.maintenance_huey]
    assert len(maintenance) == 1 and maintenance[0].periodic
    assert maintenance[0].scheduler.is_alive()
    huey = queue.maintenance_huey
    due = [t.name for t in huey.read_periodic(datetime(2026, 3, 4, 2, 0))]
    assert due == ["cleanup"]
    assert huey.read_periodic(datetime(2026, 3, 4, 3, 0)) == []
    assert huey.read_periodic(datetime(2026, 3, 4, 2, 1)) == []


def test_the_cleanup_schedule_is_configurable(make_app) -> None:
    queue = get_queue(make_app(TSHIRT_CLEANUP_CRONTAB="30 4 * * 0"))  # Sundays 04:30
    huey = queue.maintenance_huey
    sunday = datetime(2026, 3, 1, 4, 30)
    assert [t.name for t in huey.read_periodic(sunday)] == ["cleanup"]
    assert huey.read_periodic(sunday + timedelta(days=1)) == []


def test_cleanup_deletes_exactly_what_it_should(make_app) -> None:
    app = make_app()
    ext = app.extensions["tshirt"]
    root = ext.storage.root
    now = time.time()

    def finish(job_id: str, status: JobStatus, days_ago: float) -> None:
        with ext.db.session() as session:
            if status != JobStatus.CANCELLED:
                transitions.transition(session, job_id, JobStatus.COMPOSITING)
            transitions.transition(session, job_id, status)
            session.execute(update(RenderJob).where(RenderJob.id == job_id).values(
                completed_at=datetime.fromtimestamp(now - days_ago * DAY)))
            session.commit()

    old_failed, old_cancelled = submit(app), submit(app)
    new_failed, pending = submit(app), submit(app)
    finish(old_failed, JobStatus.FAILED, 8)
    finish(old_cancelled, JobStatus.CANCELLED, 30)
    finish(new_failed, JobStatus.FAILED, 6)
    # A completed job, old, with outputs that must never go.
    done = submit(app)
    with ext.db.session() as session:
        transitions.transition(session, done, JobStatus.COMPOSITING)
        transitions.transition(session, done, JobStatus.RENDERING)
        out = root / "jobs" / done / "outputs"
        out.mkdir()
        (out / "front_0deg.png").write_bytes(b"png")
        transitions.transition(session, done, JobStatus.COMPLETED, outputs=[
            {"kind": "still", "angle": "front_0deg", "file": "front_0deg.png", "width": 1,
             "height": 1, "sha256": "0" * 64, "size_bytes": 3,
             "path": f"jobs/{done}/outputs/front_0deg.png"}],
            completed_at=datetime.fromtimestamp(now - 90 * DAY))
    stale_staging = root / "jobs" / done / ".staging-old"
    stale_staging.mkdir()
    _age(stale_staging, 2 * DAY)
    # A running job whose scratch folder is old (a long render): kept.
    running = submit(app)
    with ext.db.session() as session:
        transitions.transition(session, running, JobStatus.COMPOSITING)
    scratch_running = root / "tmp" / f"render-{running}-abc"
    scratch_running.mkdir()
    _age(scratch_running, 2 * DAY)
    old_tmp, new_tmp = root / "tmp" / "render-leftover", root / "tmp" / "upload.part"
    old_tmp.mkdir()
    (old_tmp / "frame.png").write_bytes(b"x")
    _age(old_tmp, DAY + 60)
    new_tmp.write_bytes(b"x")
    _age(new_tmp, DAY - 600)
    old_orphan = root / "jobs" / "rjob_01ARZ3NDEKTSV4RRFFQ69G5FAV"
    new_orphan = root / "jobs" / "rjob_01ARZ3NDEKTSV4RRFFQ69G5FAW"
    for folder, age in ((old_orphan, 2 * 3600), (new_orphan, 60)):
        folder.mkdir()
        (folder / "design.png").write_bytes(b"x")
        _age(folder, age)
    not_ours = root / "jobs" / "README"
    not_ours.mkdir()
    _age(not_ours, 30 * DAY)

    with ext.db.session() as session:
        plan = plan_cleanup(session, ext.storage)
    assert {r.path.relative_to(root).as_posix() for r in plan} == {
        f"jobs/{old_failed}", f"jobs/{old_cancelled}", f"jobs/{done}/.staging-old",
        "tmp/render-leftover", "jobs/rjob_01ARZ3NDEKTSV4RRFFQ69G5FAV",
    }
    run_cleanup(plan)
    for kept in (root / "jobs" / new_failed, root / "jobs" / pending, out / "front_0deg.png",
                 scratch_running, new_tmp, new_orphan, not_ours):
        assert kept.exists(), kept
    with ext.db.session() as session:
        assert session.get(RenderJob, old_failed) is not None  # the history stays
        assert plan_cleanup(session, ext.storage) == []


def test_cleanup_dry_run_command(make_app, data_dir, monkeypatch, capsys) -> None:
    make_app()
    orphan = data_dir / "jobs" / "rjob_01ARZ3NDEKTSV4RRFFQ69G5FAV"
    orphan.mkdir(parents=True)
    _age(orphan, 2 * 3600)
    monkeypatch.setenv("TSHIRT_DATA_DIR", str(data_dir))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert cli.main(["cleanup", "--dry-run"]) == 0
    assert "would delete jobs/rjob_01ARZ3NDEKTSV4RRFFQ69G5FAV" in capsys.readouterr().out
    assert orphan.exists()
