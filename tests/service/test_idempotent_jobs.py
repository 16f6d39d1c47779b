"""Issue 15: a retry is idempotent (a failed or cancelled job has at most one live retry; 20
concurrent retries give one new job, enqueued once), POSTs that create jobs honour an
`Idempotency-Key`, the media-sync status tells the truth before a render exists, and the
publishing options are checked and kept. On SQLite and on PostgreSQL."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from shared.jobs import JobStatus
from sync_service.app import create_app
from sync_service.jobs import transitions

from .conftest import TOKEN, multipart, png_bytes

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(params=["sqlite", "postgresql"])
def app(request: pytest.FixtureRequest, app_config: dict[str, Any]) -> Iterator[Flask]:
    config = dict(app_config)
    if request.param == "postgresql":
        config["DATABASE_URL"] = request.getfixturevalue("postgres_database_url")
    app = create_app(config)
    service = app.extensions["tshirt"]
    service.enqueued = []  # type: ignore[attr-defined]
    service.enqueue = service.enqueued.append
    yield app
    service.db.dispose()


def _post(app: Flask, headers: dict[str, str] | None = None, **fields: Any) -> Any:
    data: dict[str, Any] = {"product_id": "prod_01", "preset": "chest-medium", "color": "navy",
                            **fields, "design": (io.BytesIO(png_bytes()), "design.png")}
    return app.test_client().post("/admin/render-jobs", headers={**AUTH, **(headers or {})},
                                  **multipart(data))


def _fail(app: Flask, job_id: str) -> None:
    with app.extensions["tshirt"].db.session() as session:
        transitions.transition(session, job_id, JobStatus.COMPOSITING)
        transitions.transition(session, job_id, JobStatus.FAILED, error_code="render_failed",
                               error_message="Blender crashed.")


def test_twenty_concurrent_retries_give_one_new_job(app: Flask) -> None:
    job = _post(app).json
    _fail(app, job["id"])
    app.extensions["tshirt"].enqueued.clear()
    answers: list[Any] = []
    start = threading.Barrier(20)

    def retry() -> None:
        client = app.test_client()
        start.wait()
        answers.append(client.post(f"/admin/render-jobs/{job['id']}/retry", headers=AUTH))

    threads = [threading.Thread(target=retry) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {a.status_code for a in answers} == {202}, [a.json for a in answers]
    ids = {a.json["id"] for a in answers}
    assert len(ids) == 1 and job["id"] not in ids
    assert app.extensions["tshirt"].enqueued == list(ids)  # rendered once
    listed = app.test_client().get("/admin/products/prod_01/render-jobs", headers=AUTH).json
    assert listed["total"] == 2

    # While that retry lives, a retry answers with it; once it failed, a new one may be made.
    again = app.test_client().post(f"/admin/render-jobs/{job['id']}/retry", headers=AUTH).json
    assert again["id"] in ids
    _fail(app, again["id"])
    third = app.test_client().post(f"/admin/render-jobs/{job['id']}/retry", headers=AUTH).json
    assert third["id"] not in ids and third["retried_from"] == job["id"]


def test_an_idempotency_key_replay_gives_the_same_job(app: Flask) -> None:
    first = _post(app, {"Idempotency-Key": "order-4711"})
    assert first.status_code == 202, first.json
    replay = _post(app, {"Idempotency-Key": "order-4711"})
    assert replay.status_code == 202 and replay.json["id"] == first.json["id"]
    other = _post(app, {"Idempotency-Key": "order-4712"})
    assert other.json["id"] != first.json["id"]
    assert app.extensions["tshirt"].enqueued == [first.json["id"], other.json["id"]]
    assert _post(app, {"Idempotency-Key": "x" * 129}).status_code == 422

    _fail(app, first.json["id"])
    retried = app.test_client().post(f"/admin/render-jobs/{first.json['id']}/retry",
                                     headers={**AUTH, "Idempotency-Key": "retry-1"}).json
    again = app.test_client().post(f"/admin/render-jobs/{first.json['id']}/retry",
                                   headers={**AUTH, "Idempotency-Key": "retry-1"}).json
    assert again["id"] == retried["id"]
    _fail(app, other.json["id"])
    reused = app.test_client().post(f"/admin/render-jobs/{other.json['id']}/retry",
                                    headers={**AUTH, "Idempotency-Key": "retry-1"})
    assert reused.status_code == 409 and reused.json["code"] == "idempotency_key_reused"


def test_concurrent_creates_with_one_key_make_one_job(app: Flask) -> None:
    answers: list[Any] = []
    start = threading.Barrier(8)

    def create() -> None:
        start.wait()
        answers.append(_post(app, {"Idempotency-Key": "same"}))

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {a.status_code for a in answers} == {202}, [a.json for a in answers]
    assert len({a.json["id"] for a in answers}) == 1
    assert len(app.extensions["tshirt"].enqueued) == 1


def test_media_status_without_a_store_and_the_publish_options(app: Flask) -> None:
    job = _post(app, thumbnail="keep", color_option="Farbe",
                color_values='{"Heather Navy": "#2c3e5c"}').json
    assert job["media_sync_status"] == "not_configured"
    assert job["publish"] == {"thumbnail": "keep", "color_option": "Farbe",
                              "color_values": {"Heather Navy": "#2c3e5c"}}
    assert _post(app).json["publish"]["thumbnail"] == "if-empty"
    for fields in ({"thumbnail": "always"}, {"color_values": "[1]"},
                   {"color_values": '{"Heather": "no-such-colour"}'}):
        assert _post(app, **fields).status_code == 422, fields
    _fail(app, job["id"])
    retried = app.test_client().post(f"/admin/render-jobs/{job['id']}/retry", headers=AUTH,
                                     json={"thumbnail": "replace"}).json
    assert retried["publish"]["thumbnail"] == "replace"
    assert retried["publish"]["color_values"] == {"Heather Navy": "#2c3e5c"}


def test_media_status_waits_for_the_render_where_a_store_is_configured(app: Flask) -> None:
    service = app.extensions["tshirt"]
    service.push = lambda job_id: None  # a store is configured (the hook the app plugs in)
    job = _post(app).json
    assert job["media_sync_status"] == "waiting_for_render"
    _fail(app, job["id"])
    got = app.test_client().get(f"/admin/render-jobs/{job['id']}", headers=AUTH).json
    assert got["media_sync_status"] == "no_render"
    cancelled = _post(app).json
    app.test_client().post(f"/admin/render-jobs/{cancelled['id']}/cancel", headers=AUTH)
    got = app.test_client().get(f"/admin/render-jobs/{cancelled['id']}", headers=AUTH).json
    assert got["media_sync_status"] == "no_render"
