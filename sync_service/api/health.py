"""`GET /health`: can rendering progress? One field per component, without a token (for load
balancers, monitoring and the dashboard); 503 when it cannot: the database or the queue broker
unreachable, the queue process that `serve` supervises not alive, or the data directory's disk
nearly full.

Fields:

- `status`: `ok`, or `unhealthy` (the answer is then 503).
- `database`: `ok`, `unreachable`.
- `queue`: the broker (the SQLite queue file, or Redis): `ok`, `unreachable`, `not_configured`.
- `consumer`: the queue process that `serve` runs and restarts: `ok` (it beats), `down` (it
  ended and is being restarted, or sent no heartbeat for `TSHIRT_STALL_AFTER_S`),
  `not_supervised` (an app that `serve` did not start, e.g. in tests), `unknown` (the database
  is unreachable).
- `consumer_heartbeat_age_s`: seconds since its last heartbeat; null when it has none.
- `workers`: every queue process seen in the last 24 h, the newest first, each with `name` (its
  `TSHIRT_WORKER_NAME`, the start of a job's `worker_id`), `kind` (`serve` or `worker`), `host`,
  `pid`, `render_threads`, `alive` (it beats and has not stopped), `last_seen` (UTC ISO 8601),
  `heartbeat_age_s`, `exits` (ends its supervisor did not ask for) and `last_exit` (how the last
  one went, e.g. `killed by SIGKILL`; null when none).
- `render_threads_alive`: the render threads of the live workers together; 0: no job can start.
- `oldest_pending_age_s`: seconds since the oldest job that waits to render was created; null
  when none waits.
- `disk`: `ok`, or `low` below 512 MiB free; `disk_free_bytes`: free bytes on the data
  directory's disk.

Only `consumer`, not `render_threads_alive`, decides the status: with `TSHIRT_RENDER_WORKERS=0`
the render machines may join later, and whether none should is for the operator's monitoring.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, current_app
from sqlalchemy import Connection, func, or_, select, text

from shared.jobs import JobSource, JobStatus

from ..models import QueueWorker, RenderJob
from .render_jobs import iso

_log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)

MIN_FREE_BYTES = 512 * 1024 * 1024
#: Queue processes seen this recently are listed.
WORKERS_SEEN_S = 24 * 3600
#: The words each field can hold (the OpenAPI document lists them).
HEALTH_STATES = ("ok", "unhealthy")
DATABASE_STATES = ("ok", "unreachable")
QUEUE_STATES = ("ok", "unreachable", "not_configured")
CONSUMER_STATES = ("ok", "down", "not_supervised", "unknown")
DISK_STATES = ("ok", "low")


@bp.get("/health")
def health() -> tuple[dict[str, Any], int]:
    ext = current_app.extensions["tshirt"]
    checks: dict[str, Any] = {}
    try:
        with ext.db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            checks.update(_rendering(connection, ext.settings.queue))
        checks["database"] = "ok"
    except Exception:
        _log.exception("Health check: database unreachable")
        checks.update(database="unreachable", consumer="unknown", consumer_heartbeat_age_s=None,
                      workers=[], render_threads_alive=0, oldest_pending_age_s=None)
    try:
        checks["queue"] = ext.queue_health()
    except Exception:
        _log.exception("Health check: queue unreachable")
        checks["queue"] = "unreachable"
    try:
        free = ext.storage.disk_free()
    except OSError:
        free = 0
    checks["disk_free_bytes"] = free
    checks["disk"] = "ok" if free >= MIN_FREE_BYTES else "low"
    healthy = (checks["database"] == "ok" and checks["queue"] != "unreachable"
               and checks["consumer"] != "down" and checks["disk"] == "ok")
    body = {"status": "ok" if healthy else "unhealthy",
            **{key: checks[key] for key in _ORDER}}
    return body, 200 if healthy else 503


_ORDER = ("database", "queue", "consumer", "consumer_heartbeat_age_s", "workers",
          "render_threads_alive", "oldest_pending_age_s", "disk", "disk_free_bytes")


def _rendering(connection: Connection, settings: Any) -> dict[str, Any]:
    """The queue processes and the oldest waiting job, as the database knows them."""
    now = datetime.now(UTC)
    since = _stored(connection, now - timedelta(seconds=WORKERS_SEEN_S))
    rows = connection.execute(
        select(*QueueWorker.__table__.columns)
        .where(or_(QueueWorker.last_seen >= since, QueueWorker.name == settings.consumer_name))
        .order_by(QueueWorker.last_seen.desc(), QueueWorker.name)).all()
    workers = []
    for row in rows:
        age = _age(now, row.last_seen)
        workers.append({
            "name": row.name, "kind": row.kind, "host": row.host, "pid": row.pid,
            "render_threads": row.render_threads,
            "alive": row.stopped_at is None and age <= settings.stall_after_s,
            "last_seen": iso(row.last_seen), "heartbeat_age_s": age,
            "exits": row.exits, "last_exit": row.last_exit})
    consumer = next((w for w in workers if w["name"] == settings.consumer_name), None)
    if settings.consumer_name is None:
        state = "not_supervised"
    else:
        state = "ok" if consumer is not None and consumer["alive"] else "down"
    oldest = connection.scalar(
        select(func.min(RenderJob.created_at))
        .where(RenderJob.status == JobStatus.PENDING, RenderJob.source == JobSource.API))
    return {
        "consumer": state,
        "consumer_heartbeat_age_s": consumer["heartbeat_age_s"] if consumer else None,
        "workers": workers,
        "render_threads_alive": sum(w["render_threads"] for w in workers if w["alive"]),
        "oldest_pending_age_s": None if oldest is None else _age(now, oldest),
    }


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _age(now: datetime, value: datetime) -> float:
    return round(max(0.0, (now - _aware(value)).total_seconds()), 1)


def _stored(connection: Connection, value: datetime) -> datetime:
    """`value` as the database compares it (SQLite stores naive UTC)."""
    return value.replace(tzinfo=None) if connection.dialect.name == "sqlite" else value
