"""HTTP API: the `/admin` blueprints (token required), `/health` and `/openapi.json`."""

from __future__ import annotations

from flask import Blueprint, Flask, request

from shared.validation import check_safe_id

from ..auth import protect
from . import health, openapi, render_jobs, templates

#: Path parts that name a stored row: each is checked (422 `invalid_id`) before any view runs,
#: so no malformed id (NUL, 10 kB of text) reaches a query.
_PATH_IDS = {"job_id": "job id", "template_id": "template id", "product_id": "product id"}


def _check_path_ids() -> None:
    for name, value in (request.view_args or {}).items():
        if name in _PATH_IDS:
            check_safe_id(value, _PATH_IDS[name])


def init_app(app: Flask) -> None:
    admin = Blueprint("admin", __name__, url_prefix="/admin")
    protect(admin)  # first: a request without the token learns nothing about ids
    admin.before_request(_check_path_ids)
    admin.register_blueprint(render_jobs.bp)
    admin.register_blueprint(templates.bp)
    app.register_blueprint(admin)
    app.register_blueprint(health.bp)
    app.register_blueprint(openapi.bp)
