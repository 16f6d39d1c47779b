"""The database engine and sessions (SQLAlchemy 2), one session per request.

SQLite gets WAL (readers never wait for the writer), foreign keys on and a busy timeout on
every connection; PostgreSQL needs nothing special.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 10_000


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # WAL + NORMAL is durable against process crashes; only an OS crash can lose the last
        # transactions, which is the documented trade-off for WAL.
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def make_engine(url: str, *, pool_size: int = 10, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, pool_size=pool_size, max_overflow=20,
                               connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
                               **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=20, pool_pre_ping=True,
                         **kwargs)


class Database:
    """An engine and its session factory. Sessions do not expire objects on commit, so a job
    can be serialised after the commit that changed it."""

    def __init__(self, url: str, **kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **kwargs)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def session(self) -> Session:
        return self.sessions()

    def dispose(self) -> None:
        self.engine.dispose()


def get_session() -> Session:
    """The current request's session, opened on first use and closed when the request ends."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["tshirt"].db.session()
    return g.db_session


def _close_session(_error: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def init_app(app: Flask) -> None:
    app.teardown_appcontext(_close_session)
