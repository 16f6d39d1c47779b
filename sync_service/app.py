"""The application factory and the extension object the rest of the service reaches through
`current_app.extensions["tshirt"]`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask

from . import api, dashboard, db, errors
from .config import MAX_REQUEST_BYTES, Settings
from .db import Database
from .jobs.storage import Storage
from .media import tasks as media_tasks
from .queue import runtime as queue_runtime

_log = logging.getLogger(__name__)


def _noop(_value: str) -> None:
    return None


def _no_warning(_product_id: str) -> str | None:
    return None


@dataclass
class Service:
    """What the app is bound to, and the hooks the API calls after a change.

    `enqueue` is called once for every job that should be rendered by the service's workers;
    `cancelled` and `completed` after those transitions; `check_product` before a job for a
    product is created (it answers a warning when the store could not be asked); `push` is
    None while no commerce backend is configured. `create_app` plugs the queue and the store
    push in (see `_plug_in`); tests replace single hooks.
    """

    settings: Settings
    db: Database
    storage: Storage
    enqueue: Callable[[str], None] = _noop
    cancelled: Callable[[str], None] = _noop
    completed: Callable[[str], None] = _noop
    check_product: Callable[[str], str | None] = _no_warning
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
    database = Database(settings.database_url, pool_size=settings.db_pool_size)
    service = Service(settings=settings, db=database, storage=storage)
    app.extensions["tshirt"] = service

    db.init_app(app)
    errors.init_app(app)
    api.init_app(app)
    dashboard.init_app(app)
    _plug_in(app, service)
    return app


def _plug_in(app: Flask, service: Service) -> None:
    """The one place where the queue and the store push meet the service's hooks.

    The queue is built first because the push's task lives on its maintenance Huey. The
    worker reports a finished render through `service.completed` as it is when the render
    finishes, so whatever is plugged in there (the push, or a test's recorder) hears of it.
    """
    queue = queue_runtime.QueueRuntime(service.settings.queue, service.db, service.storage,
                                       completed=lambda job_id: service.completed(job_id))
    service.enqueue = queue.enqueue
    service.cancelled = queue.cancelled
    service.queue_health = queue.health
    app.extensions[queue_runtime.EXTENSION] = queue
    if not service.settings.media.configured:
        return
    pusher = media_tasks.MediaPusher(service.settings.media, service.db, service.storage,
                                     queue.maintenance_huey)
    service.completed = pusher.completed
    service.check_product = pusher.check_product
    service.push = pusher.enqueue
    app.extensions[media_tasks.EXTENSION] = pusher
