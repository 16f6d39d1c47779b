"""Fixtures every service-side test folder uses: a data directory holding a database that is
already migrated and seeded with the bundled templates (migrated once per session, copied per
test, so each test starts from a clean, real SQLite database in seconds)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sync_service.config import SQLITE_NAME, sqlite_url
from sync_service.db import Database
from sync_service.migrate import upgrade
from sync_service.templates_service import seed_templates


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("migrated")
    database = Database(sqlite_url(folder), pool_size=1)
    try:
        upgrade(database.engine)
        with database.session() as session:
            seed_templates(session)
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
