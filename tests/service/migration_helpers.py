"""For the tests of one migration: a database on SQLite and on PostgreSQL (`engine`), brought
to one revision exactly (the PostgreSQL fixture's schema is already at head, so a test of an
upgrade from an older revision first goes down to it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, create_engine, text

from sync_service.migrate import alembic_config, current_revision, upgrade

#: The columns a job row needs since 0002.
JOB_COLUMNS = (
    "id, product_id, preset, color, template_id, quality, animation, background, source, "
    "status, progress, stage, images_done, images_total, frames_done, frames_total, "
    "design_path, design_name, design_type, design_size, design_sha256, design_width, "
    "design_height, attempts, media_sync_status, created_at, updated_at, metadata")


@pytest.fixture(name="engine", params=["sqlite", "postgresql"])
def engine_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'jobs.db'}"
    else:
        url = request.getfixturevalue("postgres_database_url")
    engine = create_engine(url)
    yield engine
    engine.dispose()



def migrate_to(engine: Engine, revision: str) -> None:
    """Upgrade or downgrade `engine`'s database to `revision`."""
    if current_revision(engine) is None:
        upgrade(engine, revision)
        return
    upgrade(engine, revision)  # a no-op when it is at or past `revision`
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, revision)  # a no-op when it is at `revision`


def insert_template(engine: Engine) -> None:
    """The template `tee` that test jobs name (an old schema has no seeded ones)."""
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO render_templates (id, name, description, supported_presets, "
            "default_color, active, is_default, created_at, updated_at) VALUES ('tee', 'Tee', "
            "'', '[]', '#ffffff', true, true, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"))
