"""The application factory and the extension object the rest of the service reaches through
`current_app.extensions["tshirt"]`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask

from . import api, db, errors
from .config import MAX_REQUEST_BYTES, Settings
from .db import Database
from .jobs.storage import Storage
from .media.tasks import init_media
from .queue.runtime import init_queue

_log = logging.getLogger(__name__)


def _noop(_job_id: str) -> None:
    return None


@dataclass
class Service:
    """What the app is bound to, and the hooks later parts plug into.

    `enqueue` is called once for every job that should be rendered by the service's workers
    (the queue replaces the no-op); `cancelled` and `completed` after those transitions;
    `push` is None while no commerce backend is configured.
    """

    settings: Settings
    db: Database
    storage: Storage
    enqueue: Callable[[str], None] = _noop
    cancelled: Callable[[str], None] = _noop
    completed: Callable[[str], None] = _noop
    push: Callable[[str], None] | None = None
    queue_health: Callable[[], str] = field(default=lambda: "not_configured")


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app from the environment, with `config` overriding it (tests pass a data
    directory, a database URL and tokens)."""
    app = Flask(__name__)
    config = dict(config or {})
    settings = Settings.load(config)
    settings.check()
    if settings.dev_mode:
        _log.warning("DEVELOPMENT MODE: %s", "admin routes need no token"
                     if not settings.api_tokens else "tokens are still required")
    app.config.update(
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        TSHIRT_DATA_DIR=str(settings.data_dir),
        DATABASE_URL=settings.database_url,
        TSHIRT_DEV_MODE=settings.dev_mode,
    )
    app.config.update({k: v for k, v in config.items()
                       if k not in ("TSHIRT_API_TOKENS", "TSHIRT_DATA_DIR", "DATABASE_URL")})
    app.json.sort_keys = False  # type: ignore[attr-defined]

    storage = Storage(settings.data_dir)
    storage.ensure()
    database = Database(settings.database_url,
                        pool_size=int(config.get("TSHIRT_DB_POOL_SIZE", 10)))
    app.extensions["tshirt"] = Service(settings=settings, db=database, storage=storage)

    db.init_app(app)
    errors.init_app(app)
    api.init_app(app)
    init_queue(app)
    init_media(app)
    return app
