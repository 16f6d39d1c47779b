"""`GET /health` per component: the supervised queue process (alive, silent, stopped, missing),
the queue processes seen, the oldest waiting job, and 503 whenever rendering cannot progress."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from common_helpers import multipart
from flask import Flask
from sqlalchemy import select, update

from sync_service.app import create_app
from sync_service.models import QueueWorker, RenderJob
from sync_service.queue import liveness

from .conftest import TOKEN, png_bytes


@pytest.fixture
def supervised(app_config: dict[str, Any]) -> Any:
    """An app as `serve` starts its HTTP processes: told the name of its queue process."""
    app = create_app({**app_config, "TSHIRT_CONSUMER_NAME": "box:1", "TSHIRT_STALL_AFTER_S": 15})
    yield app
    app.extensions["tshirt"].db.dispose()


def _get(app: Flask) -> tuple[int, dict[str, Any]]:
    response = app.test_client().get("/health")
    return response.status_code, response.json


def _last_seen(app: Flask, name: str, seconds_ago: float) -> None:
    db = app.extensions["tshirt"].db
    with db.session() as session:
        session.execute(update(QueueWorker).where(QueueWorker.name == name).values(
            last_seen=datetime.now(UTC) - timedelta(seconds=seconds_ago)))
        session.commit()


def test_an_app_serve_did_not_start_is_not_supervised(app: Flask) -> None:
    code, body = _get(app)
    assert code == 200 and body["status"] == "ok"
    assert (body["consumer"], body["consumer_heartbeat_age_s"]) == ("not_supervised", None)
    assert body["workers"] == [] and body["render_threads_alive"] == 0
    assert body["oldest_pending_age_s"] is None
    assert list(body) == ["status", "database", "queue", "consumer", "consumer_heartbeat_age_s",
                          "workers", "render_threads_alive", "oldest_pending_age_s", "disk",
                          "disk_free_bytes"]


def test_the_supervised_queue_process_decides_the_status(supervised: Flask) -> None:
    db = supervised.extensions["tshirt"].db
    code, body = _get(supervised)  # not registered (yet, or any more)
    assert (code, body["consumer"], body["status"]) == (503, "down", "unhealthy")
    liveness.register(db, "box:1", "serve", 2, pid=4321)
    code, body = _get(supervised)
    assert (code, body["consumer"]) == (200, "ok")
    assert 0 <= body["consumer_heartbeat_age_s"] < 5 and body["render_threads_alive"] == 2
    [worker] = body["workers"]
    assert {k: worker[k] for k in ("name", "kind", "pid", "render_threads", "alive", "exits",
                                   "last_exit")} == {
        "name": "box:1", "kind": "serve", "pid": 4321, "render_threads": 2, "alive": True,
        "exits": 0, "last_exit": None}
    assert worker["last_seen"].endswith("Z")
    _last_seen(supervised, "box:1", 20)  # silent for longer than the stall limit
    code, body = _get(supervised)
    assert (code, body["consumer"], body["render_threads_alive"]) == (503, "down", 0)
    assert body["consumer_heartbeat_age_s"] >= 20 and body["workers"][0]["alive"] is False
    liveness.register(db, "box:1", "serve", 2)
    liveness.stopped(db, "box:1", "killed by SIGKILL")  # seen dead by its supervisor
    code, body = _get(supervised)
    assert (code, body["consumer"]) == (503, "down")
    assert (body["workers"][0]["exits"], body["workers"][0]["last_exit"]) == (
        1, "killed by SIGKILL")


def test_workers_seen_are_listed_newest_first_and_old_ones_left_out(app: Flask) -> None:
    db = app.extensions["tshirt"].db
    for name in ("render-1", "render-2", "long-gone"):
        liveness.register(db, name, "worker", 1)
    _last_seen(app, "render-2", 60)
    _last_seen(app, "long-gone", 2 * 24 * 3600)
    liveness.stopped(db, "render-1")
    code, body = _get(app)
    assert code == 200  # the render machines are for the operator's monitoring to judge
    assert [(w["name"], w["alive"]) for w in body["workers"]] == [("render-1", False),
                                                                  ("render-2", False)]
    assert body["render_threads_alive"] == 0


def test_the_oldest_pending_job_is_reported(app: Flask) -> None:
    client = app.test_client()
    for _ in range(2):
        form = {"product_id": "p1", "preset": "chest-medium", "color": "navy",
                "design": (io.BytesIO(png_bytes()), "d.png")}
        response = client.post("/admin/render-jobs", headers={"Authorization": f"Bearer {TOKEN}"},
                               **multipart(form))
        assert response.status_code == 202
    db = app.extensions["tshirt"].db
    with db.session() as session:
        oldest = session.scalars(select(RenderJob).order_by(RenderJob.created_at)).first()
        oldest.created_at = datetime.now(UTC) - timedelta(minutes=10)
        session.commit()
    _code, body = _get(app)
    assert 600 <= body["oldest_pending_age_s"] < 660


def test_a_database_that_cannot_be_reached_is_503(app: Flask,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    engine = app.extensions["tshirt"].db.engine

    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise ConnectionError("database down")

    monkeypatch.setattr(engine, "connect", refuse)
    code, body = _get(app)
    assert (code, body["database"], body["consumer"]) == (503, "unreachable", "unknown")
    assert body["workers"] == [] and body["oldest_pending_age_s"] is None


def test_a_nearly_full_disk_is_503(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app.extensions["tshirt"].storage, "disk_free", lambda: 100 * 1024 * 1024)
    code, body = _get(app)
    assert (code, body["disk"], body["disk_free_bytes"]) == (503, "low", 100 * 1024 * 1024)
