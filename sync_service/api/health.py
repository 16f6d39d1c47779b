"""`GET /health`: database, queue and disk, without a token (for load balancers)."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, current_app
from sqlalchemy import text

_log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)

MIN_FREE_BYTES = 512 * 1024 * 1024
#: The words each field can hold (the OpenAPI document lists them).
HEALTH_STATES = ("ok", "unhealthy")
QUEUE_STATES = ("ok", "unreachable", "not_configured")
DISK_STATES = ("ok", "low")


@bp.get("/health")
def health() -> tuple[dict[str, Any], int]:
    ext = current_app.extensions["tshirt"]
    checks: dict[str, Any] = {}
    healthy = True
    try:
        with ext.db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception:
        _log.exception("Health check: database unreachable")
        checks["database"] = "unreachable"
        healthy = False
    try:
        checks["queue"] = ext.queue_health()
    except Exception:
        _log.exception("Health check: queue unreachable")
        checks["queue"] = "unreachable"
    if checks["queue"] == "unreachable":
        healthy = False
    try:
        free = ext.storage.disk_free()
    except OSError:
        free = 0
    checks["disk_free_bytes"] = free
    checks["disk"] = "ok" if free >= MIN_FREE_BYTES else "low"
    if free < MIN_FREE_BYTES:
        healthy = False
    return {"status": "ok" if healthy else "unhealthy", **checks}, 200 if healthy else 503
