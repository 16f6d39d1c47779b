"""Error paths a real Medusa cannot produce on demand, against a fake with its measured shapes:
429 and 5xx answers, a request that succeeds but answers after the time-out, an expired bearer
token; plus the retry schedule and the configuration rules."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fake_medusa import API_KEY, EMAIL, PASSWORD, FakeMedusa, Fault
from medusa_helpers import completed_job

from shared.errors import SyncFailed
from sync_service.config import ConfigError, MediaSettings, Settings
from sync_service.media.medusa import MedusaSink
from sync_service.media.push import push_status
from sync_service.media.sink import ProductNotFound, StoreRejected, UploadFile
from sync_service.models import RenderJob


@pytest.fixture
def fake() -> Iterator[FakeMedusa]:
    server = FakeMedusa()
    yield server
    server.stop()


def sink_for(fake: FakeMedusa, **kwargs) -> MedusaSink:
    options = {"api_key": API_KEY, "timeout_s": 0.5, "backoff_factor": 0.01, **kwargs}
    return MedusaSink(fake.url, **options)


def state(app, job_id):
    with app.extensions["tshirt"].db.session() as session:
        return session.get(RenderJob, job_id).media_sync_status, push_status(session, job_id)


def run_scheduled(app) -> int:
    huey = app.extensions["tshirt_media"].huey
    tasks = huey.read_schedule(datetime.now(UTC).replace(tzinfo=None) + timedelta(days=1))
    for task in tasks:
        time.sleep(max(0.0, (task.eta - datetime.now(UTC).replace(tzinfo=None))
                       .total_seconds()))
        huey.execute(task)
    return len(tasks)


def test_get_backs_off_on_429_and_5xx_then_succeeds(fake):
    product = fake.add_product("http://shop/a.png")
    fake.faults = [Fault("GET", "/admin/products/", "429", times=1),
                   Fault("GET", "/admin/products/", "503", times=1)]
    sink = sink_for(fake)
    try:
        assert sink.get_product(product["id"]).images[0].url == "http://shop/a.png"
    finally:
        sink.close()
    assert fake.count("GET", "/admin/products/") == 3


def test_a_failed_upload_is_not_resent_by_the_transport_and_is_retryable(fake):
    fake.faults = [Fault("POST", "/admin/uploads", "503", times=5)]
    sink = sink_for(fake)
    with pytest.raises(SyncFailed) as caught:
        sink.upload([UploadFile("a.png", b"x", "image/png")])
    sink.close()
    assert caught.value.retryable and caught.value.code == "store_unavailable"
    assert fake.count("POST", "/admin/uploads") == 1  # a POST is not idempotent


def test_missing_product_and_bad_key_are_refusals(fake):
    sink = sink_for(fake)
    with pytest.raises(ProductNotFound):
        sink.get_product("prod_missing")
    assert sink.product_exists("prod_missing") is False
    sink.close()
    bad = sink_for(fake, api_key="sk_wrong")
    with pytest.raises(StoreRejected) as caught:
        bad.get_product("prod_missing")
    bad.close()
    assert not caught.value.retryable and caught.value.code == "store_auth_failed"


def test_bearer_token_is_refreshed_on_401(fake):
    product = fake.add_product()
    sink = MedusaSink(fake.url, email=EMAIL, password=PASSWORD, timeout_s=2)
    try:
        sink.get_product(product["id"])
        fake.tokens.clear()  # the token expired
        sink.get_product(product["id"])
    finally:
        sink.close()
    assert fake.logins == 2


def test_timeout_after_success_never_duplicates_images(make_app, fake):
    product = fake.add_product("http://shop/a.png", "http://shop/b.png")
    app, _pusher = make_app(MEDUSA_URL=fake.url, MEDUSA_API_KEY=API_KEY,
                            TSHIRT_MEDIA_TIMEOUT_S=0.5, TSHIRT_PUSH_RETRY_DELAY_S=0.05)
    job_id = completed_job(app, product["id"])
    # The image update lands in the store, but its answer comes after the client gave up.
    fake.faults = [Fault("POST", f"/admin/products/{product['id']}", "slow", times=1)]
    app.extensions["tshirt"].completed(job_id)
    status, push = state(app, job_id)
    assert status == "pending" and push["error"]["code"] == "store_timeout"
    assert len(fake.products[product["id"]]["images"]) == 8  # it did land

    assert run_scheduled(app) == 1
    status, push = state(app, job_id)
    assert status == "pushed" and push["attempts"] == 2
    images = fake.products[product["id"]]["images"]
    assert len(images) == 8 and len({i["url"] for i in images}) == 8
    assert [i["url"] for i in images[:2]] == ["http://shop/a.png", "http://shop/b.png"]
    assert fake.count("POST", "/admin/uploads") == 1  # the recorded uploads were reused
    assert fake.products[product["id"]]["thumbnail"] == "http://shop/a.png"  # the shop's


def test_gives_up_after_the_retry_window(make_app, fake):
    product = fake.add_product()
    app, _pusher = make_app(MEDUSA_URL=fake.url, MEDUSA_API_KEY=API_KEY,
                            TSHIRT_MEDIA_TIMEOUT_S=0.5, TSHIRT_PUSH_RETRY_FOR_S=0)
    job_id = completed_job(app, product["id"])
    fake.faults = [Fault("GET", "/admin/products/", "503", times=100)]
    app.extensions["tshirt"].completed(job_id)
    status, push = state(app, job_id)
    assert status == "failed" and push["error"]["code"] == "store_unavailable"
    assert run_scheduled(app) == 0
    with app.extensions["tshirt"].db.session() as session:
        assert session.get(RenderJob, job_id).status == "completed"


def media_settings(config: dict[str, str]) -> MediaSettings:
    return Settings.load(config, environ={}).media


def test_default_retries_span_more_than_an_hour():
    settings = media_settings({"MEDUSA_URL": "http://x", "MEDUSA_API_KEY": "k"})
    waited, attempt = 0.0, 1
    while waited + settings.delay_for(attempt) <= settings.retry_for_s:
        waited += settings.delay_for(attempt)
        attempt += 1
    assert waited >= 3600 and attempt >= 8


@pytest.mark.parametrize("config", [
    {"MEDUSA_URL": "http://x"},
    {"MEDUSA_URL": "http://x", "MEDUSA_EMAIL": "a@b"},
    {"MEDUSA_URL": "ftp://x", "MEDUSA_API_KEY": "k"},
    {"MEDUSA_URL": "http://x", "MEDUSA_API_KEY": "k", "TSHIRT_MEDIA_REPLACE": "merge"},
])
def test_bad_configuration_is_refused(config):
    with pytest.raises(ConfigError):
        media_settings(config)


def test_nothing_configured_is_not_an_error():
    assert not media_settings({}).configured


def test_a_push_the_broker_could_not_queue_is_queued_by_the_sweep(make_app, fake):
    """Redis (or the queue file) away when a render completes: the render's delivery does not
    fail, the push waits `pending`, and the sweep queues it once the broker answers."""
    product = fake.add_product()
    app, pusher = make_app(MEDUSA_URL=fake.url, MEDUSA_API_KEY=API_KEY)
    job_id = completed_job(app, product["id"])
    real_enqueue = pusher.huey.enqueue

    def broker_down(_task):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    pusher.huey.enqueue = broker_down
    app.extensions["tshirt"].completed(job_id)  # no exception: the upload is answered
    assert state(app, job_id)[0] == "pending" and fake.count("POST", "/admin/uploads") == 0
    assert pusher.requeue_stale() == 0  # too soon: a queued push may simply not have started

    pusher.huey.enqueue = real_enqueue
    with app.extensions["tshirt"].db.session() as session:
        session.get(RenderJob, job_id).updated_at -= timedelta(minutes=2)
        session.commit()
    assert pusher.requeue_stale() == 1
    assert state(app, job_id)[0] == "pushed"
    assert pusher.requeue_stale() == 0
