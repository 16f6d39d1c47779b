"""Fixtures every service-side test folder uses: a data directory holding a database that is
already migrated and seeded with the bundled templates (migrated once per session, copied per
test, so each test starts from a clean, real SQLite database in seconds), and the same on a
private schema of the test PostgreSQL server.

PostgreSQL tests read `TEST_POSTGRES_URL` (`.ci/run` starts a server with `.ci/postgres`);
without it they are skipped locally and fail in CI (`CI` set), so CI cannot pass by skipping."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from common_helpers import server_url
from sqlalchemy import text

from sync_service.config import SQLITE_NAME, sqlite_url
from sync_service.db import Database, make_engine
from sync_service.migrate import upgrade_and_seed


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("migrated")
    database = Database(sqlite_url(folder), pool_size=1)
    try:
        upgrade_and_seed(database)
        with database.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        database.dispose()
    return folder / SQLITE_NAME


@pytest.fixture
def data_dir(tmp_path: Path, migrated_sqlite: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copyfile(migrated_sqlite, folder / SQLITE_NAME)
    return folder


@pytest.fixture(scope="session")
def postgres_url() -> str:
    return server_url("TEST_POSTGRES_URL", ".ci/postgres")


@pytest.fixture
def postgres_schema(postgres_url: str) -> Iterator[str]:
    """An empty, private schema of the test PostgreSQL database, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(postgres_url, pool_size=1)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def postgres_database_url(postgres_url: str, postgres_schema: str) -> str:
    """A URL of a private schema of the test PostgreSQL database, migrated and seeded."""
    separator = "&" if "?" in postgres_url else "?"
    url = f"{postgres_url}{separator}options=-csearch_path%3D{postgres_schema}"
    database = Database(url, pool_size=1)
    try:
        upgrade_and_seed(database)
    finally:
        database.dispose()
    return url
