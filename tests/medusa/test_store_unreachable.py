"""A store that cannot be reached when a job is submitted (issue 15 part 7): the job is
accepted (202, queued as usual) and its answer warns that the product could not be checked;
a store that answers and lacks the product still refuses it (404)."""

from __future__ import annotations

import time
from io import BytesIO

from common_helpers import multipart
from fake_medusa import API_KEY, FakeMedusa
from medusa_helpers import AUTH, Gate, png_bytes


def submit(client, product_id: str) -> object:
    return client.post("/admin/render-jobs", headers=AUTH, **multipart({
        "product_id": product_id, "preset": "chest-medium", "color": "navy",
        "design": (BytesIO(png_bytes((9, 9, 9))), "d.png")}))


def test_unreachable_store_accepts_the_job_with_a_warning(make_app):
    gate = Gate("http://127.0.0.1:9")
    gate.open()
    gate.close()  # nothing listens on its port now: connection refused
    app, _pusher = make_app(MEDUSA_URL=gate.url, MEDUSA_API_KEY="key",
                            TSHIRT_MEDIA_TIMEOUT_S=1)
    queued: list[str] = []
    app.extensions["tshirt"].enqueue = queued.append
    client = app.test_client()
    started = time.monotonic()
    response = submit(client, "prod_unchecked")
    assert response.status_code == 202
    assert time.monotonic() - started < 10
    job = response.json
    assert queued == [job["id"]]
    assert job["media_sync_status"] == "waiting_for_render"
    [warning] = [w for w in job["warnings"] if "could not be reached" in w]
    assert "prod_unchecked" in warning and "Cannot reach Medusa" in warning
    # the submit's warning is about that request: the job itself reads as usual
    later = client.get(f"/admin/render-jobs/{job['id']}", headers=AUTH).json
    assert not any("could not be reached" in w for w in later["warnings"])


def test_reachable_store_without_the_product_still_refuses(make_app):
    fake = FakeMedusa()
    try:
        app, _pusher = make_app(MEDUSA_URL=fake.url, MEDUSA_API_KEY=API_KEY)
        response = submit(app.test_client(), "prod_missing")
        assert response.status_code == 404
        assert response.json["code"] == "product_not_found"
    finally:
        fake.stop()
