"""Migration 0004 (issue 15 part 1) upgrades a 0003 database with jobs in it: rows kept, their
`colors` NULL (one colour: `color`), the new column usable; and it downgrades again. On SQLite
and on PostgreSQL."""

from __future__ import annotations

import json

from sqlalchemy import Engine, text

from sync_service.migrate import current_revision, upgrade

from .migration_helpers import (  # noqa: F401 - engine_fixture is the fixture `engine`
    JOB_COLUMNS,
    engine_fixture,
    insert_template,
    migrate_to,
)

#: 0003 added `publish`: a job of 0003 has one.
COLUMNS_0003 = JOB_COLUMNS + ", publish"


def _insert_job(engine: Engine, job_id: str, colors: list[str] | None = None) -> None:
    extra = ", colors" if colors is not None else ""
    value = ", :colors" if colors is not None else ""
    with engine.begin() as connection:
        connection.execute(text(
            f"INSERT INTO render_jobs ({COLUMNS_0003}{extra}) VALUES (:id, 'p1', 'chest-medium', "
            "'#112233', 'tee', 'standard', true, 'transparent', 'api', 'completed', 100, 'done', "
            "6, 6, 0, 0, 'jobs/x/design.png', 'd.png', 'image/png', 10, 'ab', 8, 8, 1, "
            "'pushed', '2026-01-01 00:00:00', '2026-01-01 00:00:00', '{}', "
            f"'{{\"thumbnail\": \"keep\"}}'{value})"),
            {"id": job_id, **({"colors": json.dumps(colors)} if colors is not None else {})})


def test_upgrade_from_0003_keeps_jobs(engine: Engine) -> None:
    migrate_to(engine, "0003")
    insert_template(engine)
    _insert_job(engine, "rjob_old")

    upgrade(engine, "0004")
    assert current_revision(engine) == "0004"
    _insert_job(engine, "rjob_two", ["#112233", "#c8102e"])
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT id, color, colors, status FROM render_jobs ORDER BY id")).all()
    loaded = [(r[0], r[1], json.loads(r[2]) if isinstance(r[2], str) else r[2], r[3])
              for r in rows]
    assert loaded == [("rjob_old", "#112233", None, "completed"),
                      ("rjob_two", "#112233", ["#112233", "#c8102e"], "completed")]


def test_downgrade_to_0003(engine: Engine) -> None:
    upgrade(engine)
    migrate_to(engine, "0003")
    assert current_revision(engine) == "0003"
