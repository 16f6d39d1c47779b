"""Request bodies that are one JSON object, read the same way by every route that takes one."""

from __future__ import annotations

from typing import Any

from flask import request

from ..errors import BadRequest
from ..jobs.forms import loads


def json_object(message: str = "The body must be a JSON object.") -> dict[str, Any]:
    """The body as a JSON object sent as application/json (400 otherwise), parsed strictly
    (see `forms.loads`)."""
    if not request.is_json:
        raise BadRequest(message)
    try:
        data = loads(request.get_data(cache=True))
    except ValueError:  # not JSON, not UTF-8, NaN, nested too deeply
        raise BadRequest(message) from None
    if not isinstance(data, dict):
        raise BadRequest(message)
    return data
