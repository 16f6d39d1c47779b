"""One error handler for the whole app: every failure becomes JSON `{"code", "message"}`.

Project errors carry their own code and status; werkzeug's HTTP errors (404, 405, 413, ...) keep
their status with a snake_case code; a database that is locked or unreachable is a 503 with
Retry-After (the request's transaction was rolled back, so a retry is safe); anything else is a
500 whose details go to the log only.
"""

from __future__ import annotations

import logging
import re

from flask import Flask, Response, jsonify
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from shared.errors import TshirtError

_log = logging.getLogger(__name__)

# Codes clients see for werkzeug's errors where the generic name is not the useful one.
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "file_too_large",
    415: "unsupported_media_type",
}


class BadRequest(TshirtError):
    """The request is malformed: a required field missing, a body that is not JSON."""

    default_code = "bad_request"
    http_status = 400


class Unauthorized(TshirtError):
    default_code = "unauthorized"
    http_status = 401


class Conflict(TshirtError):
    """The request is valid but the resource's state does not allow it now."""

    default_code = "conflict"
    http_status = 409


#: Seconds a client is asked to wait after a 503: long enough for a SQLite writer to finish or
#: a database to restart, short enough that a shop's upload script hardly notices.
RETRY_AFTER_S = 5


def error_response(code: str, message: str, status: int) -> Response:
    response = jsonify(code=code, message=message)
    response.status_code = status
    return response


def _snake(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "error"


def _database_away(error: OperationalError | PoolTimeout) -> Response:
    # A lock held past the busy timeout (SQLite), a database restarting or refusing
    # connections (PostgreSQL), a pool with no connection free: none is the request's fault.
    _log.error("database unavailable: %s", getattr(error, "orig", None) or error)
    response = error_response("database_unavailable", "The database is busy or unreachable; "
                              f"nothing was changed. Try again in {RETRY_AFTER_S} seconds.", 503)
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


def handle_error(error: Exception) -> Response:
    if isinstance(error, (OperationalError, PoolTimeout)):
        return _database_away(error)
    if isinstance(error, TshirtError):
        if error.http_status >= 500:
            _log.error("%s: %s", error.code, error.message)
        response = error_response(error.code, error.message, error.http_status)
        if isinstance(error, Unauthorized):
            response.headers["WWW-Authenticate"] = 'Bearer realm="tshirt"'
        return response
    if isinstance(error, HTTPException):
        status = error.code or 500
        code = _HTTP_CODES.get(status, _snake(error.name))
        message = error.description or error.name
        if status == 413:
            message = "The request is larger than this endpoint accepts."
        response = error_response(code, message, status)
        for key, value in error.get_headers():
            if key.lower() != "content-type":
                response.headers[key] = value
        return response
    _log.exception("Unhandled error")
    return error_response("internal_error", "Something went wrong on our side; it was logged.",
                          500)


def init_app(app: Flask) -> None:
    app.register_error_handler(Exception, handle_error)
