"""The dashboard's blueprint and what every one of its requests goes through: the CSRF check on
each form post, the login check, HTML error pages, and headers that keep its pages to their
own scripts and styles."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from shared.errors import TshirtError

from ..errors import Unauthorized, handle_error
from . import display, session

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard", template_folder="templates",
               static_folder="static")

#: Pages anyone may load: the login form and the stylesheet and scripts it needs.
PUBLIC_ENDPOINTS = frozenset({"dashboard.login", "dashboard.static"})
#: JSON, fragments and files that the pages fetch: without a login they answer 401, not a
#: redirect to the login form.
FETCHED_ENDPOINTS = frozenset({"dashboard.poll", "dashboard.row", "dashboard.output",
                               "dashboard.design"})
# Scripts and styles only from our own files (no inline code, so an injected tag cannot run);
# blob: images are the design preview the submit form makes in the browser.
_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
        "media-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'")


def service() -> Any:
    return current_app.extensions["tshirt"]


def page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    return render_template(f"dashboard/{template}", **context), status


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a dashboard path of this site, never another host."""
    target = target or ""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target or not parts.path.startswith("/dashboard"):
        return url_for("dashboard.jobs")
    return target


@bp.before_request
def guard() -> Any:
    if request.method == "POST" and not session.csrf_passes():
        return page("error.html", 403, title="Form refused",
                    message="This form is out of date or came from another page; reload the "
                            "page and try again.")
    if request.endpoint in PUBLIC_ENDPOINTS or session.signed_in():
        return None
    if request.method == "GET" and request.endpoint not in FETCHED_ENDPOINTS:
        return redirect(url_for("dashboard.login", next=request.full_path.rstrip("?")))
    raise Unauthorized("Your session has ended; log in again.")


@bp.after_request
def headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", _CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    if response.mimetype == "text/html":
        response.headers["Cache-Control"] = "no-store"
    return session.keep_csrf_cookie(response)


@bp.errorhandler(TshirtError)
@bp.errorhandler(HTTPException)
def error_page(error: Exception) -> Any:
    """Pages answer errors as a page; what scripts fetch keeps the API's JSON errors."""
    if request.path.startswith("/dashboard/api/"):
        return handle_error(error)
    if isinstance(error, TshirtError):
        return page("error.html", error.http_status, title="Something is not right",
                    message=error.message)
    status = error.code or 500  # type: ignore[attr-defined]
    return page("error.html", status, title=error.name,  # type: ignore[attr-defined]
                message=error.description)  # type: ignore[attr-defined]


@bp.context_processor
def helpers() -> dict[str, Any]:
    return {"csrf_token": session.csrf_token, "csrf_field": session.CSRF_FIELD,
            "display": display, "login_needed": not session.open_without_login()}
