"""Every value a client sends is bounded: out of range is a 400/422 JSON error, never a 500,
on SQLite and on PostgreSQL; and the OpenAPI document says so (statuses, fields, colours)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from common_helpers import multipart
from flask import Flask
from flask.testing import FlaskClient

from shared.colors import COMMON_SHIRT_COLORS
from sync_service.api.openapi import build_spec
from sync_service.app import create_app

from .conftest import TOKEN, png_bytes

AUTH = {"Authorization": f"Bearer {TOKEN}"}
HUGE = "9" * 5000

OUT_OF_RANGE_QUERIES = [
    "offset=9223372036854775808",  # one past SQLite's integer: was a 500
    "offset=9223372036854775807", "offset=1000000001", "offset=-9223372036854775809",
    f"offset={HUGE}", "limit=9223372036854775808", "limit=1e3", "limit=1_0", "limit=%205",
    "limit=%EF%BC%95",  # a full-width 5: int() takes it
    "limit=0x10", "created_after=0001-01-01T00:00:00%2B01:00",  # before datetime.min in UTC
    "created_before=9999-12-31T23:59:59-01:00", f"created_after={HUGE}",
    "status=" + "x" * 10_000, "status=pending,%00", "product_id=" + "a" * 129,
    "product_id=a%00b", "order=" + "x" * 1000, "preset=%00", "source=%00", "order=%00",
]


@pytest.fixture(params=["sqlite", "postgresql"])
def bounded_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    """The app on each database, with one job of each kind."""
    config: dict[str, Any] = {"TESTING": True, "TSHIRT_API_TOKENS": TOKEN}
    if request.param == "sqlite":
        config["TSHIRT_DATA_DIR"] = str(request.getfixturevalue("data_dir"))
    else:
        config.update(TSHIRT_DATA_DIR=str(tmp_path),
                      DATABASE_URL=request.getfixturevalue("postgres_database_url"))
    app = create_app(config)
    app.extensions["tshirt"].enqueue = lambda _job_id: None
    try:
        yield app
    finally:
        app.extensions["tshirt"].db.dispose()


def _create(client: FlaskClient, **fields: Any) -> Any:
    data = {"product_id": "prod_b", "preset": "chest-medium", "color": "navy", **fields,
            "design": (io.BytesIO(png_bytes()), "d.png")}
    return client.post("/admin/render-jobs", headers=AUTH, **multipart(data))


def _assert_refused(response: Any, *statuses: int) -> None:
    assert response.status_code in (statuses or (422,)), (response.status_code, response.data)
    assert set(response.json) == {"code", "message"}


@pytest.mark.parametrize("route", ["/admin/render-jobs", "/admin/products/prod_b/render-jobs"])
def test_out_of_range_queries_are_422(bounded_app: Flask, route: str) -> None:
    client = bounded_app.test_client()
    for query in OUT_OF_RANGE_QUERIES:
        if "products" in route and query.startswith("product_id="):
            continue  # the path names the product there; the route takes no such query
        _assert_refused(client.get(f"{route}?{query}", headers=AUTH))


def test_the_bounds_themselves_are_accepted(client: FlaskClient, auth: dict) -> None:
    for query in ("offset=1000000000", "offset=0", "limit=1", "limit=100", "limit=%2B5",
                  "order=ASC", "created_after=0001-01-01T00:00:00",
                  "created_before=9999-12-31T23:59:59", "offset=&limit=&order="):
        response = client.get(f"/admin/render-jobs?{query}", headers=auth)
        assert response.status_code == 200, (query, response.json)
    assert client.get("/admin/render-jobs?offset=1000000000", headers=auth).json == {
        "items": [], "total": 0, "limit": 20, "offset": 1_000_000_000}


@pytest.mark.parametrize("path", [
    "/admin/render-jobs/a%00b", "/admin/render-jobs/" + "a" * 129, "/admin/render-jobs/-x",
    "/admin/render-jobs/a%00b/design", "/admin/render-jobs/a.b/outputs/x.png",
    "/admin/render-templates/a%00b", "/admin/products/a%00b/render-jobs",
])
def test_malformed_ids_in_paths_are_422_after_the_token(bounded_app: Flask, path: str) -> None:
    client = bounded_app.test_client()
    response = client.get(path, headers=AUTH)
    _assert_refused(response)
    assert response.json["code"] == "invalid_id"
    assert client.get(path).status_code == 401  # without the token nothing is said about ids
    if path.startswith("/admin/render-jobs/") and path.count("/") == 3:
        for action in ("cancel", "retry", "push"):
            _assert_refused(client.post(f"{path}/{action}", headers=AUTH))


@pytest.mark.parametrize("metadata", [
    '{"a": 1e999}', '{"a": NaN}', '{"a": -Infinity}', "[" * 100_000, '{"a":' * 50_000,
    json.dumps({"a": "x" * 20_000}), "[]", '"text"',
])
def test_metadata_that_is_not_a_small_json_object_is_422(bounded_app: Flask,
                                                         metadata: str) -> None:
    _assert_refused(_create(bounded_app.test_client(), metadata=metadata))


def test_nul_and_odd_text_in_fields_never_reach_the_database(bounded_app: Flask) -> None:
    client = bounded_app.test_client()
    for fields in ({"product_id": "a\0b"}, {"preset": "\0"}, {"color": "na\0vy"},
                   {"template_id": "\0"}, {"quality": "\0"}, {"background": "\0"},
                   {"source": "\0"}, {"animation": "\0"}, {"color": "x" * 100_000}):
        _assert_refused(_create(client, **fields))
    created = _create(client, metadata=json.dumps({"note": "a\0b"}))
    assert created.status_code == 202 and created.json["metadata"] == {"note": "a\0b"}
    for body in ({"id": "t1", "name": "a\0b"}, {"id": "t1", "name": "n", "description": "\0"},
                 {"id": "t1", "name": "n", "model_path": "a\0b"}, {"id": "a\0b", "name": "n"}):
        _assert_refused(client.post("/admin/render-templates", headers=AUTH, json=body))


@pytest.mark.parametrize("body", [
    '{"template_id": {}}', '{"preset": 5}', '{"color": []}', '{"quality": true}',
    '{"animation": "maybe"}', '{"background": {"a": 1}}', '{"metadata": [1]}',
    '{"metadata": "{\\"a\\": NaN}"}',
])
def test_retry_overrides_of_the_wrong_type_are_422(bounded_app: Flask, body: str) -> None:
    client = bounded_app.test_client()
    job = _create(client).json
    client.post(f"/admin/render-jobs/{job['id']}/cancel", headers=AUTH)
    response = client.post(f"/admin/render-jobs/{job['id']}/retry", data=body,
                           headers={**AUTH, "Content-Type": "application/json"})
    _assert_refused(response)


@pytest.mark.parametrize("body", ['{"a": NaN}', "[" * 100_000, '{"a":' * 50_000, "[]", "\xff"])
def test_json_bodies_that_are_not_plain_json_objects_are_400(bounded_app: Flask,
                                                             body: str) -> None:
    client = bounded_app.test_client()
    job = _create(client).json
    client.post(f"/admin/render-jobs/{job['id']}/cancel", headers=AUTH)
    headers = {**AUTH, "Content-Type": "application/json"}
    for method, path in (("POST", f"/admin/render-jobs/{job['id']}/retry"),
                         ("POST", "/admin/render-templates"),
                         ("PATCH", "/admin/render-templates/classic-tee")):
        _assert_refused(client.open(path, method=method, data=body, headers=headers), 400)


# -- the document ------------------------------------------------------------------------------


def _responses(path: str, method: str) -> set[str]:
    return set(build_spec()["paths"][path][method]["responses"])


def test_the_document_lists_the_status_codes_each_route_answers() -> None:
    assert {"202", "400", "401", "404", "413", "415", "422", "507"} <= _responses(
        "/admin/render-jobs", "post")
    for path in ("/admin/render-jobs/{job_id}/retry", "/admin/render-jobs/{job_id}/outputs"):
        assert "507" in _responses(path, "post"), path
    assert {"200", "401", "422"} <= _responses("/admin/render-jobs", "get")
    for path in ("/admin/render-jobs/{job_id}", "/admin/render-jobs/{job_id}/design",
                 "/admin/render-templates/{template_id}"):
        assert {"401", "404", "422"} <= _responses(path, "get"), path
    assert {"304", "206", "416"} <= _responses("/admin/render-jobs/{job_id}/design", "get")
    assert {"200", "503"} == _responses("/health", "get")


def test_the_job_schema_lists_every_field_a_job_has(client: FlaskClient, auth: dict,
                                                    create_job: Any) -> None:
    job = create_job().json
    schema = build_spec()["components"]["schemas"]["RenderJob"]
    assert set(schema["properties"]) == set(job) | {"media_push"}
    assert set(schema["required"]) == set(job)
    for name in ("design", "counts"):
        assert set(schema["properties"][name]["properties"]) == set(job[name]), name
    item = schema["properties"]["prints"]["items"]
    assert set(item["properties"]) == set(item["required"]) == set(job["prints"][0])
    assert set(item["properties"]["design"]["properties"]) == set(job["prints"][0]["design"])


def test_the_document_says_what_a_colour_may_be() -> None:
    spec = build_spec()
    form = spec["paths"]["/admin/render-jobs"]["post"]["requestBody"]["content"][
        "multipart/form-data"]["schema"]
    description = form["properties"]["color"]["description"]
    assert description.startswith("#RGB, #RRGGBB or a colour name (shirt-blank names such "
                                  "as navy first")
    assert "then CSS names" in description
    assert all(name.lower() in description for name, _hex in COMMON_SHIRT_COLORS)
    offset = next(p for p in spec["paths"]["/admin/render-jobs"]["get"]["parameters"]
                  if p["name"] == "offset")
    assert offset["schema"]["anyOf"][0]["maximum"] == 1_000_000_000
