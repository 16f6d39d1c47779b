"""Migration 0005 (issue 16) upgrades a 0004 database holding version-1 jobs (one design at one
preset): each becomes one print at position 0 with its design and preset, unmoved, at scale
1, upright; the new placements are allowed; deleting a job deletes its prints; and it
downgrades again unless a job prints at a placement 0004 does not know. On SQLite and on
PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from sync_service.db import make_engine
from sync_service.migrate import current_revision, upgrade

from .migration_helpers import (  # noqa: F401 - engine_fixture is the fixture `engine`
    JOB_COLUMNS,
    engine_fixture,
    insert_template,
    migrate_to,
)

#: 0003 added `publish`, 0004 `colors`.
COLUMNS_0004 = JOB_COLUMNS + ", publish, colors"
PRINT_COLUMNS = ("job_id, position, preset, offset_x_cm, offset_y_cm, scale, rotation_deg, "
                 "design_path, design_name, design_type, design_size, design_sha256, "
                 "design_width, design_height")


def _insert_job(engine: Engine, job_id: str, preset: str, design: str, size: int) -> None:
    with engine.begin() as connection:
        connection.execute(text(
            f"INSERT INTO render_jobs ({COLUMNS_0004}) VALUES (:id, 'p1', :preset, '#112233', "
            "'tee', 'standard', true, 'transparent', 'api', 'completed', 100, 'done', 6, 6, 0, "
            "0, :path, :name, 'image/png', :bytes, :sha, :size, :height, 1, 'pushed', "
            "'2026-01-01 00:00:00', '2026-01-01 00:00:00', '{}', '{}', NULL)"),
            {"id": job_id, "preset": preset, "path": f"jobs/{job_id}/design.png",
             "name": design, "bytes": size * 10, "sha": design[0] * 64, "size": size,
             "height": size + 1})


def _prints(engine: Engine) -> list[tuple]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(
            f"SELECT {PRINT_COLUMNS} FROM render_job_prints ORDER BY job_id, position"))]


def test_upgrade_from_0004_makes_each_job_one_print(engine: Engine) -> None:
    migrate_to(engine, "0004")
    insert_template(engine)
    _insert_job(engine, "rjob_a", "chest-medium", "a.png", 800)
    _insert_job(engine, "rjob_b", "back-bottom-large", "b.png", 1200)

    upgrade(engine, "0005")
    assert current_revision(engine) == "0005"
    assert _prints(engine) == [
        ("rjob_a", 0, "chest-medium", 0.0, 0.0, 1.0, 0.0, "jobs/rjob_a/design.png", "a.png",
         "image/png", 8000, "a" * 64, 800, 801),
        ("rjob_b", 0, "back-bottom-large", 0.0, 0.0, 1.0, 0.0, "jobs/rjob_b/design.png",
         "b.png", "image/png", 12000, "b" * 64, 1200, 1201),
    ]
    with engine.connect() as connection:  # the jobs themselves are untouched
        jobs = connection.execute(text(
            "SELECT id, preset, design_path, status FROM render_jobs ORDER BY id")).all()
    assert [tuple(j) for j in jobs] == [
        ("rjob_a", "chest-medium", "jobs/rjob_a/design.png", "completed"),
        ("rjob_b", "back-bottom-large", "jobs/rjob_b/design.png", "completed")]


def test_new_placements_and_cascade(engine: Engine) -> None:
    migrate_to(engine, "0004")
    insert_template(engine)
    _insert_job(engine, "rjob_a", "chest-medium", "a.png", 800)
    upgrade(engine, "0005")
    _insert_job(engine, "rjob_n", "neck-label", "n.png", 300)  # refused by 0004's CHECK
    with engine.begin() as connection:
        connection.execute(text(
            f"INSERT INTO render_job_prints ({PRINT_COLUMNS}) VALUES ('rjob_a', 1, "
            "'sleeve-left', 1.5, -2.0, 0.5, 90.0, 'jobs/rjob_a/design-1.png', 's.png', "
            "'image/png', 10, :sha, 8, 8)"), {"sha": "c" * 64})
    assert [(p[0], p[1], p[2]) for p in _prints(engine)] == [
        ("rjob_a", 0, "chest-medium"), ("rjob_a", 1, "sleeve-left")]
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":  # SQLite enforces foreign keys per connection
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.execute(text("DELETE FROM render_jobs WHERE id = 'rjob_a'"))
    assert _prints(engine) == []


def test_downgrade_refuses_jobs_at_new_placements(engine: Engine) -> None:
    migrate_to(engine, "0005")
    insert_template(engine)
    _insert_job(engine, "rjob_a", "chest-medium", "a.png", 800)
    migrate_to(engine, "0004")
    assert current_revision(engine) == "0004"
    upgrade(engine, "0005")
    _insert_job(engine, "rjob_n", "sleeve-right", "n.png", 300)
    with pytest.raises(RuntimeError, match="1 job"):
        migrate_to(engine, "0004")
    assert current_revision(engine) == "0005"


def test_sqlite_upgrade_keeps_rows_that_reference_a_job(tmp_path: Path) -> None:
    """The service's SQLite connections have foreign keys on; the batch copy of render_jobs
    must not cascade its DROP into the job's media pushes or a retry's `retried_from`."""
    engine = make_engine(f"sqlite:///{tmp_path / 'jobs.db'}")
    try:
        upgrade(engine, "0004")
        insert_template(engine)
        _insert_job(engine, "rjob_a", "chest-medium", "a.png", 800)
        _insert_job(engine, "rjob_b", "chest-medium", "b.png", 800)
        with engine.begin() as connection:
            connection.execute(text("UPDATE render_jobs SET retried_from = 'rjob_a' "
                                    "WHERE id = 'rjob_b'"))
            connection.execute(text(
                "INSERT INTO media_pushes (job_id, sink, status, attempts, remote_files, "
                "remote_images, created_at, updated_at) VALUES ('rjob_a', 'medusa', 'pushed', "
                "1, '{}', '{}', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"))
        upgrade(engine, "0005")
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM media_pushes")).scalar() == 1
            assert connection.execute(text(
                "SELECT retried_from FROM render_jobs WHERE id = 'rjob_b'")).scalar() == "rjob_a"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()
