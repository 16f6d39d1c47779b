"""Issue 15 against the real Medusa (2.21, `.ci/medusa`): a T-shirt whose Color option has red,
navy and white variants. Each colour's stills land on its own variants (white shows none of
ours), the shop's thumbnail stays, a second render of red replaces only red's images, pushing
the replaced job answers 409 unless forced, the turntables are in the product's metadata by
colour, and a colour no variant has stays on the product level with a warning."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from medusa_helpers import AUTH, Medusa, completed_job, medusa_env, png_bytes
from sqlalchemy import select

from shared.colors import parse_color
from sync_service.media.push import TURNTABLES_KEY, push_status
from sync_service.models import MediaPush, RenderJob

FIELDS = "id,thumbnail,metadata,*images,*variants,*variants.images,*variants.options"
RED, NAVY = parse_color("red").hex, parse_color("navy").hex


@pytest.fixture
def env() -> dict[str, str]:
    return medusa_env()


@pytest.fixture
def tee(medusa: Medusa) -> dict[str, Any]:
    """A shop's T-shirt: Color red / navy / white, one photo of its own as thumbnail."""
    shop = medusa.upload(("shop-photo.png", png_bytes((9, 9, 9))))[0]["url"]
    body = {"title": f"Variant tee {uuid.uuid4().hex[:8]}",
            "options": [{"title": "Color", "values": ["red", "navy", "white"]}],
            "variants": [{"title": c, "options": {"Color": c},
                          "prices": [{"amount": 10, "currency_code": "usd"}]}
                         for c in ("red", "navy", "white")],
            "images": [{"url": shop}], "thumbnail": shop}
    response = medusa.http.post(f"{medusa.url}/admin/products", json=body, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["product"]


def _read(medusa: Medusa, product_id: str) -> dict[str, Any]:
    response = medusa.http.get(f"{medusa.url}/admin/products/{product_id}",
                               params={"fields": FIELDS}, timeout=30)
    response.raise_for_status()
    return response.json()["product"]


def _variant_urls(product: dict[str, Any]) -> dict[str, set[str]]:
    return {v["title"]: {i["url"] for i in v.get("images") or []} for v in product["variants"]}


def _urls(app: Any, job_id: str) -> set[str]:
    with app.extensions["tshirt"].db.session() as session:
        push = push_status(session, job_id)
        record = session.get(RenderJob, job_id)
        assert record is not None and record.media_sync_status == "pushed", push
    return {u for role, u in _file_urls(app, job_id).items() if role != "turntable"}


def _file_urls(app: Any, job_id: str) -> dict[str, str]:
    with app.extensions["tshirt"].db.session() as session:
        record = session.scalar(select(MediaPush).where(MediaPush.job_id == job_id))
        return {role: f["url"] for role, f in record.remote_files["files"].items()}


def test_each_colour_on_its_own_variants(make_app, medusa, env, tee) -> None:
    app, _pusher = make_app(MEDUSA_URL=env["url"], MEDUSA_API_KEY=env["key"])
    service = app.extensions["tshirt"]
    shop_url = tee["thumbnail"]
    red = completed_job(app, tee["id"], color="red", mark=11)
    navy = completed_job(app, tee["id"], color="navy", mark=12)
    service.completed(red)
    service.completed(navy)

    got = _read(medusa, tee["id"])
    red_urls, navy_urls = _urls(app, red), _urls(app, navy)
    assert len(red_urls) == len(navy_urls) == 6
    by_variant = _variant_urls(got)
    assert by_variant["red"] == {shop_url} | red_urls
    assert by_variant["navy"] == {shop_url} | navy_urls
    assert by_variant["white"] == {shop_url}  # none of ours
    assert got["thumbnail"] == shop_url  # the shop's thumbnail is the shop's
    turntables = got["metadata"][TURNTABLES_KEY]
    assert turntables == {RED: _file_urls(app, red)["turntable"],
                          NAVY: _file_urls(app, navy)["turntable"]}
    assert medusa.fetch(turntables[RED]).status_code == 200
    detail = app.test_client().get(f"/admin/render-jobs/{red}", headers=AUTH).json
    assert detail["media_push"]["turntable_url"] == turntables[RED]
    assert detail["media_push"]["warnings"] == []

    # A second render of red replaces red's images only.
    red2 = completed_job(app, tee["id"], color="red", mark=13)
    service.completed(red2)
    after = _variant_urls(_read(medusa, tee["id"]))
    assert after["red"] == {shop_url} | _urls(app, red2)
    assert after["navy"] == {shop_url} | navy_urls and after["white"] == {shop_url}

    # The replaced render is not pushed again by accident ...
    client = app.test_client()
    refused = client.post(f"/admin/render-jobs/{red}/push", headers=AUTH)
    assert refused.status_code == 409 and refused.json["code"] == "replaced"
    assert _variant_urls(_read(medusa, tee["id"]))["red"] == {shop_url} | _urls(app, red2)
    # ... but it can be, on purpose: then it replaces the newer one in turn.
    forced = client.post(f"/admin/render-jobs/{red}/push", headers=AUTH, json={"force": True})
    assert forced.status_code == 202, forced.json
    restored = _variant_urls(_read(medusa, tee["id"]))
    assert restored["red"] == {shop_url} | _urls(app, red)
    assert restored["navy"] == {shop_url} | navy_urls


def test_a_colour_without_a_variant_stays_on_the_product_with_a_warning(
        make_app, medusa, env, tee) -> None:
    app, _pusher = make_app(MEDUSA_URL=env["url"], MEDUSA_API_KEY=env["key"])
    green = completed_job(app, tee["id"], color="#00ff00", mark=14, animation=False)
    app.extensions["tshirt"].completed(green)
    ours = _urls(app, green)
    by_variant = _variant_urls(_read(medusa, tee["id"]))
    assert all(ours <= urls for urls in by_variant.values())  # general: every variant
    detail = app.test_client().get(f"/admin/render-jobs/{green}", headers=AUTH).json
    assert len(detail["media_push"]["warnings"]) == 1
    assert "#00ff00" in detail["media_push"]["warnings"][0]


def test_thumbnail_replace_and_the_shops_value_words(make_app, medusa, env, tee) -> None:
    app, _pusher = make_app(MEDUSA_URL=env["url"], MEDUSA_API_KEY=env["key"])
    service = app.extensions["tshirt"]
    job = completed_job(app, tee["id"], color="#2c3e5c", mark=15, animation=False)
    with service.db.session() as session:  # as a request with these fields would store them
        record = session.get(RenderJob, job)
        record.publish = {"thumbnail": "replace", "color_option": "color",
                          "color_values": {"White": "#2c3e5c"}}
        session.commit()
    service.completed(job)
    got = _read(medusa, tee["id"])
    ours = _urls(app, job)
    assert _variant_urls(got)["white"] == {tee["thumbnail"]} | ours
    assert got["thumbnail"] == _file_urls(app, job)["front_0deg"]


def test_one_job_of_red_and_navy_on_their_variants(make_app, medusa, env, tee) -> None:
    """Issue 15 part 1: one job `color=red,navy`, its stills by colour on each colour's
    variants, white with none of ours, the turntables by colour."""
    app, _pusher = make_app(MEDUSA_URL=env["url"], MEDUSA_API_KEY=env["key"])
    job = completed_job(app, tee["id"], color="red,navy", mark=16)
    app.extensions["tshirt"].completed(job)
    files = _file_urls(app, job)
    red_urls = {u for r, u in files.items() if r.startswith(RED[1:] + "/") and
                not r.endswith("turntable")}
    navy_urls = {u for r, u in files.items() if r.startswith(NAVY[1:] + "/") and
                 not r.endswith("turntable")}
    assert len(red_urls) == len(navy_urls) == 6 and _urls(app, job) >= red_urls | navy_urls
    got = _read(medusa, tee["id"])
    by_variant = _variant_urls(got)
    shop_url = tee["thumbnail"]
    assert by_variant["red"] == {shop_url} | red_urls
    assert by_variant["navy"] == {shop_url} | navy_urls
    assert by_variant["white"] == {shop_url}
    assert got["thumbnail"] == shop_url
    assert got["metadata"][TURNTABLES_KEY] == {RED: files[f"{RED[1:]}/turntable"],
                                               NAVY: files[f"{NAVY[1:]}/turntable"]}
