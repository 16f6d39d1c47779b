"""HTTP API: the `/admin` blueprints (token required), `/health` and `/openapi.json`."""

from __future__ import annotations

from flask import Blueprint, Flask

from ..auth import protect
from . import health, openapi, render_jobs, templates


def init_app(app: Flask) -> None:
    admin = Blueprint("admin", __name__, url_prefix="/admin")
    protect(admin)
    admin.register_blueprint(render_jobs.bp)
    admin.register_blueprint(templates.bp)
    app.register_blueprint(admin)
    app.register_blueprint(health.bp)
    app.register_blueprint(openapi.bp)
