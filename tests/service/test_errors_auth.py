"""Auth on every /admin route, JSON errors everywhere (never HTML), health and OpenAPI."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from sync_service.app import create_app
from sync_service.config import ConfigError

from .conftest import OTHER_TOKEN

ADMIN_ROUTES = [
    ("GET", "/admin/render-jobs"), ("POST", "/admin/render-jobs"),
    ("GET", "/admin/render-jobs/rjob_x"), ("POST", "/admin/render-jobs/rjob_x/cancel"),
    ("POST", "/admin/render-jobs/rjob_x/retry"), ("POST", "/admin/render-jobs/rjob_x/outputs"),
    ("POST", "/admin/render-jobs/rjob_x/push"), ("GET", "/admin/render-jobs/rjob_x/design"),
    ("GET", "/admin/render-jobs/rjob_x/outputs/a.png"),
    ("GET", "/admin/products/p/render-jobs"), ("GET", "/admin/render-templates"),
    ("POST", "/admin/render-templates"), ("GET", "/admin/render-templates/t"),
    ("PATCH", "/admin/render-templates/t"), ("DELETE", "/admin/render-templates/t"),
]


def assert_json_error(response: Any, status: int, code: str | None = None) -> None:
    assert response.status_code == status
    assert response.mimetype == "application/json", response.data[:200]
    assert b"<html" not in response.data.lower() and b"<!doctype" not in response.data.lower()
    assert set(response.json) == {"code", "message"}
    if code:
        assert response.json["code"] == code


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
@pytest.mark.parametrize("header", [None, "Bearer wrong-token", "Basic dGVzdDp0ZXN0",
                                    "Bearer", "bearer  ", "test-token-0123456789"])
def test_admin_routes_need_a_valid_token(client: FlaskClient, method: str, path: str,
                                         header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    response = client.open(path, method=method, headers=headers)
    assert_json_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_every_configured_token_works(client: FlaskClient) -> None:
    for token in ("test-token-0123456789", OTHER_TOKEN):
        response = client.get("/admin/render-jobs",
                              headers={"Authorization": f"bearer {token}"})
        assert response.status_code == 200


def test_routing_errors_are_json(client: FlaskClient, auth: dict) -> None:
    assert_json_error(client.get("/nowhere"), 404, "not_found")
    assert_json_error(client.get("/admin/nowhere", headers=auth), 404, "not_found")
    assert_json_error(client.get("/admin/render-jobs/", headers=auth), 404, "not_found")
    response = client.delete("/admin/render-jobs", headers=auth)
    assert_json_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]
    assert_json_error(client.put("/health"), 405)


def test_unexpected_errors_are_500_without_internals(app: Flask) -> None:
    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret database password in a stack trace")

    response = app.test_client().get("/boom")
    assert_json_error(response, 500, "internal_error")
    assert b"secret" not in response.data and b"Traceback" not in response.data


def test_health_needs_no_token(client: FlaskClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200, response.json
    body = response.json
    assert (body["status"], body["database"], body["queue"]) == ("ok", "ok", "ok")
    assert body["disk_free_bytes"] > 0


def test_health_reports_a_broken_queue(app: Flask) -> None:
    def broken() -> str:
        raise ConnectionError("redis down")

    app.extensions["tshirt"].queue_health = broken
    response = app.test_client().get("/health")
    assert response.status_code == 503 and response.json["queue"] == "unreachable"


def test_openapi_describes_every_route(app: Flask, client: FlaskClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    spec = response.json
    assert spec["openapi"].startswith("3.")
    described = {(path, method.upper()) for path, item in spec["paths"].items()
                 for method in item}
    # The dashboard's pages (and `/`, which leads to them) are for people, not the API.
    rules = [r for r in app.url_map.iter_rules()
             if r.endpoint != "static" and r.endpoint.split(".")[0] not in ("dashboard", "root")]
    for rule in rules:
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)  # <path:name> is {name}
        for method in rule.methods - {"HEAD", "OPTIONS"}:  # type: ignore[operator]
            assert (path, method) in described, f"{method} {path} is not in openapi.json"
    assert len(described) == sum(len(r.methods - {"HEAD", "OPTIONS"})  # type: ignore[operator]
                                 for r in rules)
    for path, item in spec["paths"].items():
        for operation in item.values():
            assert operation["responses"], path
            if path.startswith("/admin"):
                assert "401" in operation["responses"], path


def test_refuses_to_start_without_a_token(data_dir: Path) -> None:
    with pytest.raises(ConfigError):
        create_app({"TSHIRT_DATA_DIR": str(data_dir), "TSHIRT_API_TOKENS": ""})


def test_development_mode_opens_admin_routes_and_says_so(
        data_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING"):
        app = create_app({"TSHIRT_DATA_DIR": str(data_dir), "TSHIRT_API_TOKENS": "",
                          "TSHIRT_DEV_MODE": "1"})
    try:
        assert "DEVELOPMENT MODE" in caplog.text
        assert app.test_client().get("/admin/render-jobs").status_code == 200
    finally:
        app.extensions["tshirt"].db.dispose()
