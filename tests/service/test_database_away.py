"""A database that is locked or unreachable: the API answers a JSON 503 with Retry-After, the
request leaves nothing behind, and the same request succeeds once the database is back."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from common_helpers import free_port
from flask.testing import FlaskClient

from sync_service import db
from sync_service.app import create_app
from sync_service.config import SQLITE_NAME
from sync_service.errors import RETRY_AFTER_S

from .test_errors_auth import assert_json_error


@pytest.fixture(autouse=True)
def short_busy_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app's engine waits this long for a lock instead of 10 s (read when it is made)."""
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 200)


@contextlib.contextmanager
def write_lock(data_dir: Path) -> Iterator[None]:
    """Another connection's write transaction on the service's database, as a slow writer
    holds it, until the block ends (it then commits, empty)."""
    holder = sqlite3.connect(data_dir / SQLITE_NAME, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        yield
        holder.execute("COMMIT")
    finally:
        holder.close()


def assert_database_away(response: Any) -> None:
    assert_json_error(response, 503, "database_unavailable")
    assert response.headers["Retry-After"] == str(RETRY_AFTER_S)
    assert "Try again" in response.json["message"]


def test_a_job_posted_while_another_writer_holds_the_lock_is_a_503_that_leaves_nothing(
        client: FlaskClient, auth: dict[str, str], data_dir: Path,
        create_job: Callable[..., Any]) -> None:
    with write_lock(data_dir):
        assert_database_away(create_job())
    assert client.get("/admin/render-jobs", headers=auth).json["items"] == []
    assert list((data_dir / "jobs").iterdir()) == []  # the design was not kept either
    retried = create_job()
    assert retried.status_code == 202, retried.json
    assert [job["id"] for job in client.get("/admin/render-jobs", headers=auth).json["items"]] \
        == [retried.json["id"]]


def test_a_cancel_while_the_database_is_locked_is_a_503_and_changes_nothing(
        client: FlaskClient, auth: dict[str, str], create_job: Callable[..., Any],
        data_dir: Path) -> None:
    job = create_job().json
    with write_lock(data_dir):
        assert_database_away(client.post(f"/admin/render-jobs/{job['id']}/cancel",
                                         headers=auth))
    assert client.get(f"/admin/render-jobs/{job['id']}", headers=auth).json["status"] == \
        "pending"


def test_an_unreachable_postgresql_is_a_503_on_every_route_that_reads(
        data_dir: Path, auth: dict[str, str]) -> None:
    app = create_app({"TESTING": True, "TSHIRT_DATA_DIR": str(data_dir),
                      "TSHIRT_API_TOKENS": auth["Authorization"].split()[1],
                      "DATABASE_URL": f"postgresql+psycopg://tshirt@127.0.0.1:{free_port()}/"
                                      "tshirt?connect_timeout=2"})
    try:
        client = app.test_client()
        for path in ("/admin/render-jobs", "/admin/render-jobs/rjob_01M8V2Y0FNYR4B9PEY3QW897VB",
                     "/admin/render-templates"):
            assert_database_away(client.get(path, headers=auth))
    finally:
        app.extensions["tshirt"].db.dispose()


def test_the_api_document_lists_the_503_on_every_route_that_touches_the_database() -> None:
    from sync_service.api.openapi import build_spec

    for path, operations in build_spec()["paths"].items():
        for method, operation in operations.items():
            if path == "/openapi.json":
                continue
            assert "503" in operation["responses"], (method, path)
