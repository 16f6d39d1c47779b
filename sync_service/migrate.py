"""Running the Alembic migrations from code (the CLI's `db upgrade`, `serve` and the tests)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

if TYPE_CHECKING:
    from .db import Database

SCRIPT_LOCATION = "sync_service:migrations"


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if url:
        # ConfigParser interpolation: a literal % in a password must be doubled.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to `revision` inside one transaction.

    On SQLite foreign keys are off meanwhile, as SQLite's own procedure for schema changes has
    it: a batch migration copies a table and drops the old one, and with them on, that DROP
    first deletes every row that references the table (a job's media pushes and prints) or
    sets it NULL (`retried_from`). They are checked before the commit instead.
    """
    config = alembic_config()
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            _foreign_keys(connection, on=False)  # a no-op inside a transaction: before it
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(f"The migration left {len(broken)} rows whose "
                                           f"foreign keys point nowhere: {broken[:3]}")
        finally:
            if sqlite:
                _foreign_keys(connection, on=True)


def _foreign_keys(connection: Connection, *, on: bool) -> None:
    connection.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    connection.commit()


def upgrade_and_seed(database: Database) -> None:
    """What every new or upgraded database gets: the schema at head, then the bundled templates
    it lacks (`serve`, `db upgrade`, the tests and the benchmarks)."""
    from .jobs.templates import seed_templates

    upgrade(database.engine)
    with database.session() as session:
        seed_templates(session)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
