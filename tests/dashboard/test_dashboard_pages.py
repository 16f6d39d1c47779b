"""The dashboard through Flask's test client: login and its cookie, CSRF on every post, escaping
of every user string, the submit form, the list's filters and paging, a job's page and its
buttons."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from common_helpers import multipart
from dashboard_helpers import csrf_of
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from queue_helpers import TOKEN
from werkzeug.datastructures import FileStorage

from shared.jobs import MediaSyncStatus
from shared.presets import PRESETS
from sync_service.app import create_app
from sync_service.dashboard import session
from sync_service.dashboard.listing import PAGE_SIZE
from sync_service.models import MediaPush, RenderJob

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def png(width: int = 400, height: int = 300) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", (width, height), (200, 30, 30, 255)).save(buffer, "PNG")
    return buffer.getvalue()


def api_job(client: FlaskClient, **fields: Any) -> dict[str, Any]:
    data = {"product_id": "prod_01", "preset": "chest-medium", "color": "navy", **fields,
            "design": (io.BytesIO(png()), "design.png")}
    response = client.post("/admin/render-jobs", headers=AUTH, **multipart(data))
    assert response.status_code == 202, response.json
    return response.json


def form(csrf: str, **fields: Any) -> dict[str, Any]:
    """The submit form's fields, with `fields` changed (None leaves one out; a list repeats a
    field, as the print rows do)."""
    values = {"csrf_token": csrf, "product_id": "prod_form", "preset": "chest-medium",
              "color": "#111111", "quality": "preview", "background": "transparent",
              "animation": "on", "design": (io.BytesIO(png()), "shirt.png"), **fields}
    return multipart({key: [FileStorage(*item) if isinstance(item, tuple) else item
                            for item in value] if isinstance(value, list) else value
                      for key, value in values.items() if value is not None})


def jobs_in(app: Flask) -> list[RenderJob]:
    with app.extensions["tshirt"].db.session() as db:
        return list(db.query(RenderJob).order_by(RenderJob.created_at))


# -- logging in --------------------------------------------------------------------------------


def test_a_stranger_is_sent_from_the_root_to_the_login(client: FlaskClient) -> None:
    assert client.get("/").headers["Location"] == "/dashboard/"
    response = client.get("/dashboard/?status=failed")
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard/login?next=/dashboard/?status%3Dfailed"


def test_a_good_token_sets_a_strict_httponly_cookie_that_does_not_hold_it(
        client: FlaskClient) -> None:
    csrf = csrf_of(client.get("/dashboard/login").text)
    response = client.post("/dashboard/login", data={"token": TOKEN, "csrf_token": csrf,
                                                     "next": "/dashboard/?status=failed"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/dashboard/?status=failed"
    cookie = next(c for c in response.headers.getlist("Set-Cookie")
                  if c.startswith(session.SESSION_COOKIE))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/dashboard" in cookie
    assert "Secure" not in cookie and TOKEN not in cookie
    assert client.get("/dashboard/").status_code == 200


def test_the_cookies_are_secure_over_https(client: FlaskClient) -> None:
    page = client.get("/dashboard/login", base_url="https://shop.test")
    assert "Secure" in page.headers["Set-Cookie"]
    response = client.post("/dashboard/login", base_url="https://shop.test",
                           data={"token": TOKEN, "csrf_token": csrf_of(page.text)})
    assert all("Secure" in c for c in response.headers.getlist("Set-Cookie"))


def test_a_wrong_token_is_refused(client: FlaskClient) -> None:
    csrf = csrf_of(client.get("/dashboard/login").text)
    response = client.post("/dashboard/login", data={"token": TOKEN + "x", "csrf_token": csrf})
    assert response.status_code == 401 and "That token is not valid." in response.text
    assert not any(c.startswith(session.SESSION_COOKIE)
                   for c in response.headers.getlist("Set-Cookie"))
    assert client.get("/dashboard/").status_code == 302


@pytest.mark.parametrize("next_url", ["https://evil.test/dashboard/", "//evil.test/dashboard",
                                      "/admin/render-jobs", "/dashboard\\@evil.test"])
def test_the_login_never_sends_anyone_off_the_dashboard(client: FlaskClient,
                                                         next_url: str) -> None:
    csrf = csrf_of(client.get("/dashboard/login").text)
    response = client.post("/dashboard/login", data={"token": TOKEN, "csrf_token": csrf,
                                                     "next": next_url})
    assert response.headers["Location"] == "/dashboard/"


def test_a_forged_or_expired_session_cookie_is_not_a_session(client: FlaskClient) -> None:
    expired = session.session_cookie_for(TOKEN, now=0)
    forged = session.session_cookie_for("another-token")
    for value in (expired, forged, "v1.99999999999.abc", "garbage"):
        client.set_cookie(session.SESSION_COOKIE, value, path="/dashboard")
        assert client.get("/dashboard/").status_code == 302, value


def test_logging_out_ends_the_session(logged_in: tuple[FlaskClient, str]) -> None:
    client, csrf = logged_in
    response = client.post("/dashboard/logout", data={"csrf_token": csrf})
    assert response.status_code == 303 and response.headers["Location"] == "/dashboard/login"
    assert client.get("/dashboard/").status_code == 302


def test_dev_mode_without_tokens_opens_the_dashboard_but_not_its_posts(data_dir: Path) -> None:
    app = create_app({"TESTING": True, "TSHIRT_DATA_DIR": str(data_dir),
                      "TSHIRT_API_TOKENS": "", "TSHIRT_DEV_MODE": True, "REDIS_URL": None})
    try:
        client = app.test_client()
        page = client.get("/dashboard/")
        assert page.status_code == 200 and "Log out" not in page.text
        assert client.get("/dashboard/login").headers["Location"] == "/dashboard/"
        assert client.post("/dashboard/new", **form("")).status_code == 403
    finally:
        app.extensions["tshirt"].db.dispose()


def test_what_the_pages_fetch_answers_401_without_a_session(client: FlaskClient,
                                                            app: Flask) -> None:
    job = api_job(client)
    poll = client.get(f"/dashboard/api/render-jobs/{job['id']}")
    assert poll.status_code == 401 and poll.json["code"] == "unauthorized"
    assert client.get(f"/dashboard/jobs/{job['id']}/design").status_code == 401
    assert client.get(f"/dashboard/jobs/{job['id']}/row").status_code == 401
    assert client.post(f"/dashboard/jobs/{job['id']}/cancel").status_code == 403  # no CSRF


# -- CSRF --------------------------------------------------------------------------------------


def test_every_post_without_the_right_csrf_token_is_refused(
        logged_in: tuple[FlaskClient, str], app: Flask) -> None:
    client, csrf = logged_in
    job = api_job(client)
    posts = [f"/dashboard/jobs/{job['id']}/{action}" for action in ("cancel", "retry", "push")]
    for url in [*posts, "/dashboard/logout", "/dashboard/login"]:
        for fields in ({}, {"csrf_token": ""}, {"csrf_token": csrf[:-1] + "x"}):
            response = client.post(url, data=fields)
            assert response.status_code == 403, (url, fields)
            assert "Form refused" in response.text
    assert client.post("/dashboard/new", **form("nope")).status_code == 403
    assert [j.status for j in jobs_in(app)] == ["pending"]  # nothing happened
    assert client.get("/dashboard/").status_code == 200  # and the session is still there


def test_every_form_that_posts_carries_the_csrf_token(logged_in: tuple[FlaskClient, str]) -> None:
    client, csrf = logged_in
    job = api_job(client)
    client.post(f"/dashboard/jobs/{job['id']}/cancel", data={"csrf_token": csrf})
    pages = ["/dashboard/", "/dashboard/new", "/dashboard/templates",
             f"/dashboard/jobs/{job['id']}"]
    posting = 0
    for url in pages:
        html = client.get(url).text
        for match in re.finditer(r"<form[^>]*method=\"post\".*?</form>", html, re.S):
            posting += 1
            assert f'name="csrf_token" value="{csrf}"' in match.group(0), (url, match.group(0))
    assert posting >= 6  # logout on each page, and retry on the cancelled job's


# -- escaping and headers ----------------------------------------------------------------------


HOSTILE = "<script>alert(1)</script>"


def test_every_user_string_is_escaped(logged_in: tuple[FlaskClient, str], app: Flask) -> None:
    """A row written by something less careful than the API (ids, names, errors are all shown
    somewhere) still shows as text."""
    client, _csrf = logged_in
    job = api_job(client)
    with app.extensions["tshirt"].db.session() as db:
        record = db.get(RenderJob, job["id"])
        record.product_id = HOSTILE
        record.design_name = '"><img src=x onerror=alert(2)>'
        record.stage = HOSTILE
        record.status = "failed"
        record.error_code, record.error_message = "x", "<b>bad</b> " + HOSTILE
        db.commit()
    for url in ("/dashboard/", f"/dashboard/jobs/{job['id']}", f"/dashboard/jobs/{job['id']}/row",
                "/dashboard/?product_id=" + HOSTILE, "/dashboard/new?product_id=" + HOSTILE):
        html = client.get(url).text
        assert "<script>alert" not in html and "<img src=x" not in html and "<b>bad" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, url


def test_an_invalid_filter_is_said_on_the_page(logged_in: tuple[FlaskClient, str]) -> None:
    client, _csrf = logged_in
    response = client.get("/dashboard/?push=lost&status=done")
    assert response.status_code == 422 and "Unknown push state" in response.text


def test_pages_allow_only_their_own_scripts_and_styles(logged_in: tuple[FlaskClient, str]) -> None:
    client, _csrf = logged_in
    response = client.get("/dashboard/")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert "<script>" not in response.text and " style=" not in response.text
    with client.get("/dashboard/static/live.js") as script:
        assert script.status_code == 200 and script.mimetype == "text/javascript"


# -- submitting --------------------------------------------------------------------------------


def test_submitting_makes_and_queues_one_job_with_every_colour(
        logged_in: tuple[FlaskClient, str], app: Flask) -> None:
    client, csrf = logged_in
    response = client.post("/dashboard/new", **form(csrf, color="white",
                                                    more_colors="navy, #c8102e, white"))
    assert response.status_code == 303
    [job] = jobs_in(app)
    assert response.headers["Location"] == f"/dashboard/jobs/{job.id}"
    assert (job.color, job.colors) == ("#ffffff", ["#ffffff", "#1f2a44", "#c8102e"])
    assert (job.preset, job.quality, job.animation, job.design_name) == \
        ("chest-medium", "preview", True, "shirt.png")
    assert app.extensions["tshirt"].enqueued == [job.id]
    one = client.post("/dashboard/new", **form(csrf, animation=None, preset="back-large"))
    job = jobs_in(app)[-1]
    assert one.headers["Location"] == f"/dashboard/jobs/{job.id}"
    assert (job.preset, job.animation, job.colors) == ("back-large", False, None)


def _comparable(job: dict[str, Any]) -> dict[str, Any]:
    """A job's JSON without what differs between any two jobs (ids, times, URLs)."""
    skip = {"id", "url", "created_at", "updated_at", "design"}
    return {**{k: v for k, v in job.items() if k not in skip},
            "prints": [{k: v for k, v in p.items() if k != "design"} | {
                "design": {k: v for k, v in p["design"].items() if k != "url"}}
                for p in job["prints"]]}


def test_a_two_colour_two_print_submit_is_the_job_the_api_makes(
        logged_in: tuple[FlaskClient, str], app: Flask) -> None:
    client, csrf = logged_in
    rows = {"preset": ["chest-medium", "back-large"], "offset_x_cm": ["0", "1"],
            "offset_y_cm": ["5", ""], "scale": ["0.5", "0.8"], "rotation_deg": ["", "10"]}
    response = client.post("/dashboard/new", **form(
        csrf, color=["white", "navy"], **rows,
        design=[(io.BytesIO(png()), "front.png"), (io.BytesIO(png(80, 60)), "back.png")]))
    assert response.status_code == 303, response.text
    [job] = jobs_in(app)
    assert response.headers["Location"] == f"/dashboard/jobs/{job.id}"
    assert job.colors == ["#ffffff", "#1f2a44"]
    with app.extensions["tshirt"].db.session() as db:
        stored = [(p.position, p.preset, p.offset_x_cm, p.offset_y_cm, p.scale,
                   p.rotation_deg, p.design_name, p.design_width)
                  for p in db.get(RenderJob, job.id).prints]
    assert stored == [
        (0, "chest-medium", 0.0, 5.0, 0.5, 0.0, "front.png", 400),
        (1, "back-large", 1.0, 0.0, 0.8, 10.0, "back.png", 80)]
    assert app.extensions["tshirt"].enqueued == [job.id]
    prints = [{"file": "front", "preset": "chest-medium", "offset_cm": [0, 5], "scale": 0.5},
              {"file": "back", "preset": "back-large", "offset_cm": [1, 0], "scale": 0.8,
               "rotation_deg": 10}]
    data = {"product_id": "prod_form", "color": "white,navy", "prints": json.dumps(prints),
            "quality": "preview", "front": (io.BytesIO(png()), "front.png"),
            "back": (io.BytesIO(png(80, 60)), "back.png")}
    api = client.post("/admin/render-jobs", headers=AUTH, **multipart(data))
    assert api.status_code == 202, api.json
    mine = client.get(f"/admin/render-jobs/{job.id}", headers=AUTH).json
    assert _comparable(mine) == _comparable(api.json)


def test_an_out_of_area_print_is_refused_on_the_form_and_stores_nothing(
        logged_in: tuple[FlaskClient, str], app: Flask) -> None:
    client, csrf = logged_in
    storage = app.extensions["tshirt"].storage
    response = client.post("/dashboard/new", **form(
        csrf, preset=["chest-medium", "back-large"], offset_y_cm=["0", "50"],
        design=[(io.BytesIO(png()), "front.png"), (io.BytesIO(png()), "back.png")]))
    assert response.status_code == 422
    assert re.search(r'role="alert">Print 2 \(back-large\) leaves the back printable area by '
                     r'[0-9.]+ cm at the bottom', response.text)
    assert jobs_in(app) == [] and app.extensions["tshirt"].enqueued == []
    assert not any(storage.root.rglob("*.png"))
    # the refused form shows both rows again as they were typed
    assert response.text.count('class="print-row"') == 2
    assert 'name="offset_y_cm" value="50"' in response.text
    assert re.search(r'value="back-large"[^>]*selected', response.text)


@pytest.mark.parametrize("fields,status,words", [
    ({"more_colors": "not-a-colour"}, 422, "is not a colour"),
    ({"color": None}, 422, "Choose at least one shirt colour"),
    ({"product_id": "../etc"}, 422, "Invalid product id"),
    ({"product_id": ""}, 400, "Give the id of the store product"),
    ({"preset": "sleeve"}, 422, "Unknown preset"),
    ({"design": (io.BytesIO(b"GIF89a not a design"), "d.gif")}, 415, "PNG or JPEG"),
    ({"design": None}, 400, "Choose a design file"),
    ({"color": "navy", "more_colors": ",".join(f"#0000{n:02x}" for n in range(13))}, 422,
     "one job renders at most 12"),
    ({"scale": "big"}, 422, "The scale must be a number, not &#39;big&#39;."),
    ({"preset": ["chest-medium", "back-large"]}, 400, "Print 2: choose a design file"),
])
def test_a_bad_submission_creates_nothing_and_says_why(
        logged_in: tuple[FlaskClient, str], app: Flask, fields: dict[str, Any], status: int,
        words: str) -> None:
    client, csrf = logged_in
    response = client.post("/dashboard/new", **form(csrf, **fields))
    assert response.status_code == status and words in response.text
    assert jobs_in(app) == []


def test_a_refused_form_keeps_what_was_chosen(logged_in: tuple[FlaskClient, str]) -> None:
    client, csrf = logged_in
    response = client.post("/dashboard/new", **form(csrf, more_colors="nope, navy",
                                                    preset="back-small"))
    assert response.status_code == 422
    assert 'value="prod_form"' in response.text and 'value="nope, navy"' in response.text
    assert re.search(r'value="back-small"[^>]*selected', response.text)
    assert re.search(r'value="#111111"\s+checked', response.text)


def test_the_form_offers_every_placement_with_its_print_size(
        logged_in: tuple[FlaskClient, str]) -> None:
    client, _csrf = logged_in
    html = client.get("/dashboard/new").text
    assert html.count("data-width-in=") == len(PRESETS)
    # The print areas in inches, from the centimetres shared/presets.py measures them in.
    assert re.search(r'value="chest-medium" data-width-in="10.0"\s+data-height-in="12.008"', html)
    assert 'data-min-dpi="150" data-ideal-dpi="300"' in html


def test_the_placements_are_the_chosen_templates(logged_in: tuple[FlaskClient, str]) -> None:
    client, csrf = logged_in
    made = client.post("/admin/render-templates", headers=AUTH, json={
        "id": "front-only", "name": "Front only", "supported_presets": ["chest-medium"]})
    assert made.status_code == 201, made.json
    html = client.get("/dashboard/new?template_id=front-only").text
    assert 'data-presets="chest-medium"' in html  # what the script limits the lists to
    offered = re.findall(r'<option value="([a-z-]+)" data-width-in="[0-9.]+"\s+'
                         r'data-height-in="[0-9.]+"\s+(disabled hidden)?', html)
    assert [preset for preset, off in offered if not off] == ["chest-medium"]
    # a form posted without the script, with another template's placement, says why
    response = client.post("/dashboard/new", **form(csrf, template_id="front-only",
                                                    preset="back-large"))
    assert response.status_code == 422
    assert "Template &#39;front-only&#39; does not support preset &#39;back-large&#39;" in \
        response.text


# -- the list and a job ------------------------------------------------------------------------


def test_the_list_pages_newest_first_and_filters_by_push_state(
        logged_in: tuple[FlaskClient, str], app: Flask) -> None:
    client, _csrf = logged_in
    ids = [api_job(client, product_id=f"prod_{n:02d}")["id"] for n in range(PAGE_SIZE + 3)]
    with app.extensions["tshirt"].db.session() as db:
        db.get(RenderJob, ids[4]).media_sync_status = MediaSyncStatus.FAILED.value
        db.add(MediaPush(job_id=ids[4], sink="medusa", status="failed", attempts=5,
                         last_error_code="store_unavailable", last_error="The store is down."))
        db.commit()
    first = client.get("/dashboard/").text
    shown = re.findall(r'data-job="([^"]+)"', first)
    assert shown == ids[::-1][:PAGE_SIZE]
    assert f"{PAGE_SIZE + 3} jobs · page 1 of 2" in first and "Older" in first
    second = client.get("/dashboard/?page=2").text
    assert re.findall(r'data-job="([^"]+)"', second) == ids[2::-1]
    failed = client.get("/dashboard/?push=failed").text
    assert re.findall(r'data-job="([^"]+)"', failed) == [ids[4]]
    assert "Push failed: The store is down." in failed
    assert re.findall(r'data-job="([^"]+)"', client.get("/dashboard/?product_id=prod_07").text) \
        == [ids[7]]
    assert client.get("/dashboard/?status=completed").text.count("data-job=") == 0
    assert "Not sent: no store is configured." in first
    assert f"{PAGE_SIZE + 3} pending" in first  # the health strip counts jobs by status


def test_a_job_page_warns_of_a_blurry_print_and_its_buttons_work(
        logged_in: tuple[FlaskClient, str], app: Flask) -> None:
    client, csrf = logged_in
    job = api_job(client)
    page = client.get(f"/dashboard/jobs/{job['id']}").text
    # 400 x 300 px fitted into 10 x 12 in: 40 DPI, the sentence shared/ words for it.
    assert "The design is 40 DPI at its printed size and will print blurry" in page
    assert 'id="cancel"' in page and 'id="retry"' not in page
    cancelled = client.post(f"/dashboard/jobs/{job['id']}/cancel", data={"csrf_token": csrf})
    assert cancelled.headers["Location"] == f"/dashboard/jobs/{job['id']}"
    assert 'id="retry"' in client.get(f"/dashboard/jobs/{job['id']}").text
    again = client.post(f"/dashboard/jobs/{job['id']}/cancel", data={"csrf_token": csrf})
    assert again.status_code == 303  # cancelling twice changes nothing
    refused = client.post(f"/dashboard/jobs/{job['id']}/push", data={"csrf_token": csrf})
    assert refused.status_code == 409 and "Only completed jobs can be pushed" in refused.text
    retried = client.post(f"/dashboard/jobs/{job['id']}/retry", data={"csrf_token": csrf})
    new = jobs_in(app)[-1]
    assert retried.headers["Location"] == f"/dashboard/jobs/{new.id}"
    assert new.retried_from == job["id"] and app.extensions["tshirt"].enqueued[-1] == new.id
    assert client.get("/dashboard/jobs/rjob_missing").status_code == 404


def test_the_poll_answers_the_apis_json(logged_in: tuple[FlaskClient, str]) -> None:
    client, _csrf = logged_in
    job = api_job(client)
    polled = client.get(f"/dashboard/api/render-jobs/{job['id']}").json
    api = client.get(f"/admin/render-jobs/{job['id']}", headers=AUTH).json
    assert polled == api


def test_a_several_colour_job_shows_its_first_colour_and_a_count(
        logged_in: tuple[FlaskClient, str]) -> None:
    client, _csrf = logged_in
    job = api_job(client, color="navy,white,#00ff00")
    row = client.get(f"/dashboard/jobs/{job['id']}/row").text
    assert job["color"] in row and '<span class="muted">+2</span>' in row
    page = client.get(f"/dashboard/jobs/{job['id']}").text
    assert all(f'data-swatch="{color}"' in page for color in job["colors"])
    single = client.get(f"/dashboard/jobs/{api_job(client)['id']}/row").text
    assert '<span class="muted">+' not in single


def test_a_several_print_job_lists_its_prints(logged_in: tuple[FlaskClient, str]) -> None:
    client, _csrf = logged_in
    prints = [{"file": "front", "preset": "chest-medium", "offset_cm": [0, 5], "scale": 0.5},
              {"file": "back", "preset": "back-large", "rotation_deg": 10, "scale": 0.5}]
    data = {"product_id": "prod_01", "color": "navy", "prints": json.dumps(prints),
            "front": (io.BytesIO(png()), "front.png"), "back": (io.BytesIO(png(80, 60)),
                                                                 "back.png")}
    response = client.post("/admin/render-jobs", headers=AUTH, **multipart(data))
    assert response.status_code == 202, response.json
    job = response.json
    page = client.get(f"/dashboard/jobs/{job['id']}").text
    assert "Print 1: Chest, medium (10 x 12 in)" in page
    assert "Print 2: Full back (12 x 16 in)" in page
    assert "moved 0 cm right, 5 cm down, scale 0.5" in page
    assert "scale 0.5, turned 10° clockwise" in page
    for position in (0, 1):
        src = f"/dashboard/jobs/{job['id']}/design?position={position}"
        assert f'src="{src}"' in page
        with client.get(src) as design:
            assert design.status_code == 200
    assert "Print 1 (chest-medium): The design is 80 DPI" in page
    assert "Print 2 (back-large): The design is" in page
    row = client.get(f"/dashboard/jobs/{job['id']}/row").text
    assert "Chest, medium (10 x 12 in) +1" in row
