"""Pushing completed renders to a real Medusa v2 (from `.ci/medusa`): the product's images in
angle order after the two it already had, the thumbnail, the bytes behind every URL, no
duplicates on a second push, replacement of the previous render of the same preset and colour,
an outage that delays the push until the store is back, and wrong credentials."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from medusa_helpers import (
    AUTH,
    Gate,
    Medusa,
    completed_job,
    medusa_env,
    output_bytes,
    png_bytes,
)
from sqlalchemy import select

from shared.angles import ANGLE_IDS
from sync_service.media.push import METADATA_KEY, push_status
from sync_service.models import MediaPush, RenderJob


@pytest.fixture
def env() -> dict[str, str]:
    return medusa_env()


@pytest.fixture
def product(medusa: Medusa) -> dict[str, Any]:
    """A product with two images the shop made itself."""
    shop = medusa.upload(("shop-a.png", png_bytes((1, 2, 3))), ("shop-b.png", png_bytes((4, 5, 6))))
    return medusa.create_product([f["url"] for f in shop])


def job_state(app: Flask, job_id: str) -> tuple[RenderJob, dict[str, Any] | None]:
    with app.extensions["tshirt"].db.session() as session:
        job = session.get(RenderJob, job_id)
        assert job is not None
        return job, push_status(session, job_id)


def run_scheduled(app: Flask) -> int:
    """Run the retries Huey has scheduled (immediate mode keeps them in memory)."""
    huey = app.extensions["tshirt_media"].huey
    tasks = huey.read_schedule(datetime.now(UTC).replace(tzinfo=None) + timedelta(days=1))
    for task in tasks:  # wait until each is due, or Huey puts it back in the schedule
        wait = (task.eta - datetime.now(UTC).replace(tzinfo=None)).total_seconds()
        time.sleep(max(0.0, wait))
        huey.execute(task)
    return len(tasks)


def test_push_orders_images_keeps_the_shops_and_is_idempotent(make_app, medusa, env, product):
    app, pusher = make_app(MEDUSA_URL=env["url"], MEDUSA_API_KEY=env["key"])
    assert pusher is not None
    old = [(i["id"], i["url"]) for i in product["images"]]
    job_id = completed_job(app, product["id"])
    app.extensions["tshirt"].completed(job_id)  # what the worker calls: queues the push

    job, push = job_state(app, job_id)
    assert job.media_sync_status == "pushed", push
    assert push["attempts"] == 1 and push["error"] is None
    got = medusa.product(product["id"])
    images = [(i["id"], i["url"]) for i in got["images"]]
    assert images[:2] == old  # the shop's own images stay, first, with their ids
    assert len(images) == 8
    ours = images[2:]
    assert [i for i, _ in ours] == [push["image_ids"][a] for a in ANGLE_IDS]
    assert got["thumbnail"] == product["thumbnail"]  # the shop's own (thumbnail=if-empty)
    for angle, (_id, url) in zip(ANGLE_IDS, ours, strict=True):
        served = medusa.fetch(url)
        assert served.status_code == 200
        assert served.content == output_bytes(app, job_id, angle)
    entry = got["metadata"][METADATA_KEY][job_id]
    assert entry["image_ids"] == push["image_ids"]
    assert entry["preset"] == job.preset and entry["color"] == job.color
    assert entry["design_sha256"] == job.design_sha256
    assert "turntable" in entry["file_ids"]
    assert medusa.fetch(entry["urls"]["turntable"]).status_code == 200
    assert got["metadata"]["owner"] == "shop"

    # Pushing the same job again (on demand, through the API) changes nothing.
    client = app.test_client()
    response = client.post(f"/admin/render-jobs/{job_id}/push", headers=AUTH)
    assert response.status_code == 202, response.json
    again = medusa.product(product["id"])
    assert [(i["id"], i["url"]) for i in again["images"]] == images
    assert again["thumbnail"] == got["thumbnail"]
    _job, push2 = job_state(app, job_id)
    assert push2["attempts"] == 2 and push2["file_ids"] == push["file_ids"]
    detail = client.get(f"/admin/render-jobs/{job_id}", headers=AUTH).json
    assert detail["media_sync_status"] == "pushed"
    assert detail["media_push"]["image_ids"] == push["image_ids"]


def test_rerender_replaces_its_previous_images_and_deletes_their_uploads(
        make_app, medusa, env, product, database_config):
    app, _pusher = make_app(MEDUSA_URL=env["url"], MEDUSA_API_KEY=env["key"], **database_config)
    service = app.extensions["tshirt"]
    first = completed_job(app, product["id"], mark=1)
    other_colour = completed_job(app, product["id"], color="#ffffff", mark=2)
    service.completed(first)
    service.completed(other_colour)
    before = medusa.product(product["id"])
    assert len(before["images"]) == 2 + 6 + 6
    first_entry = before["metadata"][METADATA_KEY][first]
    keep_other = [i["id"] for i in before["images"]][8:]

    second = completed_job(app, product["id"], mark=3)  # same preset and colour as `first`
    service.completed(second)

    after = medusa.product(product["id"])
    ids = [i["id"] for i in after["images"]]
    urls = [i["url"] for i in after["images"]]
    assert ids[:2] == [i["id"] for i in product["images"]]
    _job, push = job_state(app, second)
    assert ids[2:8] == [push["image_ids"][a] for a in ANGLE_IDS]  # in the first render's place
    assert ids[8:] == keep_other
    assert after["thumbnail"] == product["thumbnail"]
    assert not set(first_entry["image_ids"].values()) & set(ids)
    assert first not in after["metadata"][METADATA_KEY]
    assert {second, other_colour} <= set(after["metadata"][METADATA_KEY])
    for url in first_entry["urls"].values():  # the replaced render's uploads are gone
        assert medusa.fetch(url).status_code == 404
    assert medusa.fetch(urls[2]).content == output_bytes(app, second, "front_0deg")
    _job, old_push = job_state(app, first)
    assert old_push["replaced_by"] == second and old_push["image_ids"] == {}


def test_keep_mode_adds_beside_the_previous_render(make_app, medusa, env, product):
    app, _pusher = make_app(MEDUSA_URL=env["url"], MEDUSA_API_KEY=env["key"],
                            TSHIRT_MEDIA_REPLACE="keep")
    service = app.extensions["tshirt"]
    first = completed_job(app, product["id"], mark=4, animation=False)
    second = completed_job(app, product["id"], mark=5, animation=False)
    service.completed(first)
    service.completed(second)
    after = medusa.product(product["id"])
    assert len(after["images"]) == 2 + 12
    assert {first, second} <= set(after["metadata"][METADATA_KEY])


def test_store_down_delays_the_push_until_it_is_back(make_app, medusa, env, product):
    gate = Gate(env["url"])
    gate.open()
    gate.close()  # the store is down
    app, _pusher = make_app(MEDUSA_URL=gate.url, MEDUSA_API_KEY=env["key"],
                            TSHIRT_PUSH_RETRY_DELAY_S=0.1, TSHIRT_MEDIA_TIMEOUT_S=2)
    job_id = completed_job(app, product["id"])
    app.extensions["tshirt"].completed(job_id)
    job, push = job_state(app, job_id)
    assert job.status == "completed"  # the render is untouched
    assert job.media_sync_status == "pending"
    assert push["status"] == "pending" and push["attempts"] == 1
    assert push["error"]["code"] == "store_unreachable"
    assert "Cannot reach Medusa" in push["error"]["message"]
    assert medusa.product(product["id"])["images"] == product["images"]

    assert run_scheduled(app) == 1  # still down: one more attempt, rescheduled
    assert job_state(app, job_id)[1]["attempts"] == 2

    gate.open()  # back, on the same port
    try:
        assert run_scheduled(app) == 1
    finally:
        gate.close()
    job, push = job_state(app, job_id)
    assert job.media_sync_status == "pushed" and push["attempts"] == 3
    assert push["error"] is None
    got = medusa.product(product["id"])
    assert len(got["images"]) == 8 and got["thumbnail"] == product["thumbnail"]


def test_wrong_credentials_fail_clearly_and_lose_nothing(make_app, medusa, env, product):
    app, _pusher = make_app(MEDUSA_URL=env["url"], MEDUSA_API_KEY="sk_wrong")
    job_id = completed_job(app, product["id"])
    app.extensions["tshirt"].completed(job_id)
    job, push = job_state(app, job_id)
    assert job.status == "completed" and job.media_sync_status == "failed"
    assert push["error"]["code"] == "store_auth_failed"
    assert "MEDUSA_API_KEY" in push["error"]["message"]
    assert run_scheduled(app) == 0  # a refusal is not retried by itself
    detail = app.test_client().get(f"/admin/render-jobs/{job_id}", headers=AUTH).json
    assert detail["media_push"]["error"]["code"] == "store_auth_failed"
    assert len(detail["outputs"]) == 7

    # With the key fixed, pushing again on demand lands.
    fixed, _ = make_app(MEDUSA_URL=env["url"], MEDUSA_API_KEY=env["key"])
    response = fixed.test_client().post(f"/admin/render-jobs/{job_id}/push", headers=AUTH)
    assert response.status_code == 202
    assert job_state(fixed, job_id)[0].media_sync_status == "pushed"
    assert len(medusa.product(product["id"])["images"]) == 8


def test_admin_login_and_product_check_on_job_creation(make_app, medusa, env, product):
    if not env["email"]:
        pytest.skip("MEDUSA_TEST_EMAIL is not set")
    app, _pusher = make_app(MEDUSA_URL=env["url"], MEDUSA_EMAIL=env["email"],
                            MEDUSA_PASSWORD=env["password"])
    client = app.test_client()
    from io import BytesIO

    from common_helpers import multipart

    def create(product_id: str) -> Any:
        return client.post("/admin/render-jobs", headers=AUTH, **multipart({
            "product_id": product_id, "preset": "chest-medium", "color": "navy",
            "source": "blender", "design": (BytesIO(png_bytes((9, 9, 9))), "d.png")}))

    missing = create("prod_does_not_exist")
    assert missing.status_code == 404
    assert missing.json["code"] == "product_not_found"
    assert "prod_does_not_exist" in missing.json["message"]
    assert create(product["id"]).status_code == 202

    job_id = completed_job(app, product["id"])
    app.extensions["tshirt"].completed(job_id)
    assert job_state(app, job_id)[0].media_sync_status == "pushed"


def test_not_configured_records_nothing_and_fails_nothing(make_app, product):
    app, pusher = make_app()
    assert pusher is None
    job_id = completed_job(app, product["id"])
    app.extensions["tshirt"].completed(job_id)
    with app.extensions["tshirt"].db.session() as session:
        assert session.get(RenderJob, job_id).media_sync_status == "not_configured"
        assert session.scalars(select(MediaPush)).all() == []
    response = app.test_client().post(f"/admin/render-jobs/{job_id}/push", headers=AUTH)
    assert response.status_code == 409


def test_a_push_waiting_for_the_store_survives_a_restart_and_lands_by_itself(make_app, medusa,
                                                                             env, product):
    """The real queue (SQLite Huey in the data directory, the embedded consumer): the store is
    down when the render completes, the service restarts, the store comes back, and the
    scheduled retry lands without anyone asking."""
    gate = Gate(env["url"])
    gate.open()
    gate.close()
    config = {"MEDUSA_URL": gate.url, "MEDUSA_API_KEY": env["key"],
              "TSHIRT_PUSH_RETRY_DELAY_S": 2, "TSHIRT_MEDIA_TIMEOUT_S": 2}
    first, pusher = make_app(immediate=False, **config)
    assert pusher is not None
    job_id = completed_job(first, product["id"])
    first.extensions["tshirt"].completed(job_id)  # queued in the queue's storage
    pusher.run(job_id)  # one attempt now, as a consumer would: fails and schedules a retry
    assert job_state(first, job_id)[0].media_sync_status == "pending"
    first.extensions["tshirt"].db.dispose()  # the service goes away

    gate.open()  # the store is back
    second, _ = make_app(immediate=False, **config)  # the service starts again
    from sync_service.queue.runtime import get_queue

    runtime = get_queue(second)
    runtime.start(render_workers=0, maintenance=True)
    try:
        deadline = time.monotonic() + 60
        while job_state(second, job_id)[0].media_sync_status != "pushed":
            assert time.monotonic() < deadline, job_state(second, job_id)[1]
            time.sleep(0.2)
    finally:
        runtime.stop()
        gate.close()
    got = medusa.product(product["id"])
    assert len(got["images"]) == 8  # the queued push and the retry did not both add images
