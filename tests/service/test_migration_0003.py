"""Migration 0003 (issue 15) upgrades a 0002 database with jobs and pushes in it: rows kept,
the new media-sync statuses and columns usable, one job per retry slot and per idempotency key;
and it downgrades again. On SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from sync_service.migrate import current_revision, upgrade

from .migration_helpers import (  # noqa: F401 - engine_fixture is the fixture `engine`
    JOB_COLUMNS,
    engine_fixture,
    insert_template,
    migrate_to,
)


def _insert_job(engine: Engine, job_id: str, media: str, **extra: str) -> None:
    columns = JOB_COLUMNS + "".join(f", {name}" for name in extra)
    values = "".join(f", :{name}" for name in extra)
    with engine.begin() as connection:
        connection.execute(text(
            f"INSERT INTO render_jobs ({columns}) VALUES (:id, 'p1', 'chest-medium', '#112233', "
            "'tee', 'standard', true, 'transparent', 'api', 'completed', 100, 'done', 6, 6, 0, "
            "0, 'jobs/x/design.png', 'd.png', 'image/png', 10, 'ab', 8, 8, 1, :media, "
            f"'2026-01-01 00:00:00', '2026-01-01 00:00:00', '{{}}'{values})"),
            {"id": job_id, "media": media, **extra})


def test_upgrade_from_0002_keeps_jobs_and_pushes(engine: Engine) -> None:
    migrate_to(engine, "0002")
    insert_template(engine)
    _insert_job(engine, "rjob_old", "pushed")
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO media_pushes (job_id, sink, status, attempts, idempotency_key, "
            "remote_files, remote_images, created_at, updated_at) VALUES ('rjob_old', 'medusa', "
            "'pushed', 2, 'medusa:rjob_old', '{\"files\": {}}', '{\"front_0deg\": \"img_1\"}', "
            "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"))

    upgrade(engine, "0003")
    assert current_revision(engine) == "0003"
    with engine.connect() as connection:
        job = connection.execute(text(
            "SELECT status, media_sync_status, publish, idempotency_key, retry_slot "
            "FROM render_jobs")).one()
        assert tuple(job) == ("completed", "pushed", None, None, None)
        push = connection.execute(text("SELECT status, attempts FROM media_pushes")).one()
        assert tuple(push) == ("pushed", 2)

    _insert_job(engine, "rjob_waits", "waiting_for_render", retry_slot="rjob_old:1",
                idempotency_key="key-1")
    _insert_job(engine, "rjob_gone", "no_render")
    with pytest.raises(IntegrityError):
        _insert_job(engine, "rjob_twin", "waiting_for_render", retry_slot="rjob_old:1")
    with pytest.raises(IntegrityError):
        _insert_job(engine, "rjob_again", "waiting_for_render", idempotency_key="key-1")
    with pytest.raises(IntegrityError):
        _insert_job(engine, "rjob_bad", "thinking_about_it")


def test_downgrade_to_0002(engine: Engine) -> None:
    upgrade(engine)
    migrate_to(engine, "0002")
    assert current_revision(engine) == "0002"
