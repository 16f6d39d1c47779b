"""Bearer tokens on every `/admin` route, compared in constant time."""

from __future__ import annotations

import hmac
import secrets

from flask import Blueprint, current_app, request

from .errors import Unauthorized

TOKEN_BYTES = 32


def new_token() -> str:
    return "tst_" + secrets.token_urlsafe(TOKEN_BYTES)


def token_matches(presented: str, tokens: tuple[str, ...]) -> bool:
    """Check against every configured token, without stopping early, so the time taken says
    nothing about which token came close."""
    given = presented.encode("utf-8", "surrogateescape")
    found = False
    for token in tokens:
        found |= hmac.compare_digest(given, token.encode("utf-8"))
    return found


def require_token() -> None:
    settings = current_app.extensions["tshirt"].settings
    if not settings.api_tokens and settings.dev_mode:
        return
    header = request.headers.get("Authorization", "")
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise Unauthorized("Send the API token as 'Authorization: Bearer <token>'.")
    if not token_matches(presented.strip(), settings.api_tokens):
        raise Unauthorized("The API token is not valid.")


def protect(blueprint: Blueprint) -> None:
    blueprint.before_request(require_token)
