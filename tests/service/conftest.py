"""Fixtures for the sync service: a real app on a real, migrated database in a temp folder.

The schema is migrated once per session into a template SQLite file; each test gets a copy, so
every test starts from a freshly migrated database without paying for the migration again.
PostgreSQL tests read `TEST_POSTGRES_URL`; without it they are skipped locally and fail in CI
(`CI` set), so CI cannot pass by skipping them.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from common_helpers import multipart
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import Engine

from sync_service import cli
from sync_service.app import create_app
from sync_service.config import sqlite_url
from sync_service.db import make_engine

TOKEN = "test-token-0123456789"
OTHER_TOKEN = "second-token-abcdef"


def png_bytes(width: int = 8, height: int = 6, color: tuple[int, ...] = (200, 30, 30, 255),
              fmt: str = "PNG") -> bytes:
    mode = "RGBA" if fmt == "PNG" else "RGB"
    image = Image.new(mode, (width, height), color[: len(mode)])
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()




@pytest.fixture
def app_config(data_dir: Path) -> dict[str, Any]:
    return {"TESTING": True, "TSHIRT_DATA_DIR": str(data_dir),
            "TSHIRT_API_TOKENS": f"{TOKEN},{OTHER_TOKEN}", "TSHIRT_DEV_MODE": False}


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Flask]:
    app = create_app(app_config)
    app.extensions["tshirt"].enqueued = []  # type: ignore[attr-defined]
    app.extensions["tshirt"].enqueue = app.extensions["tshirt"].enqueued.append
    yield app
    app.extensions["tshirt"].db.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def token() -> str:
    return TOKEN


@pytest.fixture
def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def runner(data_dir: Path, monkeypatch: pytest.MonkeyPatch,
           capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """Run `tshirt-service ARGS` in-process against the test data directory."""
    monkeypatch.setenv("TSHIRT_DATA_DIR", str(data_dir))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("TSHIRT_API_TOKENS", raising=False)
    monkeypatch.delenv("TSHIRT_DEV_MODE", raising=False)

    def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        code = cli.main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def create_job(client: FlaskClient, auth: dict[str, str]) -> Callable[..., Any]:
    """POST a design and return the response; fields override a valid default."""

    def create(design: bytes | None = None, filename: str = "design.png",
               **fields: Any) -> Any:
        data: dict[str, Any] = {"product_id": "prod_01", "preset": "chest-medium",
                                "color": "navy", **fields}
        data = {k: v for k, v in data.items() if v is not None}
        data["design"] = (io.BytesIO(png_bytes() if design is None else design), filename)
        return client.post("/admin/render-jobs", headers=auth, **multipart(data))

    return create


# -- PostgreSQL --------------------------------------------------------------------------------


@pytest.fixture
def postgres_engine(postgres_url: str, postgres_schema: str) -> Iterator[Engine]:
    """An engine on an empty, private schema of the test PostgreSQL database."""
    engine = make_engine(postgres_url, pool_size=10,
                         connect_args={"options": f"-csearch_path={postgres_schema}"})
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(sqlite_url(tmp_path))
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_engine(request: pytest.FixtureRequest) -> Engine:
    """Each database the service supports, empty (not migrated)."""
    name = "sqlite_engine" if request.param == "sqlite" else "postgres_engine"
    return request.getfixturevalue(name)
