"""The kept per-thread connection that polls and listings read through (`Database.read`)."""

from __future__ import annotations

import threading

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from shared.jobs import JobStatus
from sync_service.db import Database
from sync_service.jobs import transitions


def _select_one(database: Database) -> int:
    return database.read(lambda connection: connection.execute(text("SELECT 1")).scalar_one())


def test_a_poll_sees_what_another_process_committed_since_the_last_poll(
        app: Flask, client: FlaskClient, auth: dict, create_job) -> None:
    job_id = create_job().json["id"]
    assert client.get(f"/admin/render-jobs/{job_id}", headers=auth).json["status"] == "pending"
    # A worker process has a database of its own.
    worker_db = Database(app.extensions["tshirt"].db.url, pool_size=1)
    try:
        with worker_db.session() as session:
            assert transitions.transition(session, job_id, JobStatus.COMPOSITING)
    finally:
        worker_db.dispose()
    polled = client.get(f"/admin/render-jobs/{job_id}", headers=auth).json
    assert polled["status"] == "compositing"
    listed = client.get("/admin/render-jobs", headers=auth).json["items"]
    assert [j["status"] for j in listed] == ["compositing"]


def test_one_connection_per_thread_back_to_the_pool_when_the_thread_ends(
        app: Flask) -> None:
    database = app.extensions["tshirt"].db
    pool = database.engine.pool
    for _ in range(3):
        assert _select_one(database) == 1
    assert pool.checkedout() == 1  # kept between reads

    thread = threading.Thread(target=_select_one, args=(database,))
    thread.start()
    thread.join()
    assert pool.checkedout() == 1  # the thread's own went back when it ended


def test_dispose_closes_the_kept_connections(app: Flask) -> None:
    database = app.extensions["tshirt"].db
    _select_one(database)
    database.dispose()
    assert database.engine.pool.checkedout() == 0
    assert _select_one(database) == 1  # and reading afterwards opens a new one
