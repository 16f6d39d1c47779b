"""Who may use the dashboard: the API's tokens, presented once at a login form and then carried
by a cookie; and the CSRF check every form post passes.

The session cookie never holds the token itself. It holds an expiry time and an HMAC of it keyed
with the token, so the service keeps no session store (any of its processes can check any
cookie), a stolen cookie does not reveal the token, and removing a token from
`TSHIRT_API_TOKENS` ends every session it opened. The CSRF token is a random value kept in a
second HttpOnly cookie and repeated in every form (the double-submit pattern); both cookies are
SameSite=Strict, so another site's form never carries them anyway.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from flask import Response, current_app, request

from ..auth import token_matches
from ..config import Settings

SESSION_COOKIE = "tshirt_session"
CSRF_COOKIE = "tshirt_csrf"
CSRF_FIELD = "csrf_token"
SESSION_SECONDS = 7 * 24 * 3600
_SESSION_VERSION = "v1"


def _settings() -> Settings:
    return current_app.extensions["tshirt"].settings


def open_without_login() -> bool:
    """Development mode without tokens opens the dashboard as it opens the API."""
    settings = _settings()
    return not settings.api_tokens and settings.dev_mode


def _signature(token: str, expires: int) -> str:
    message = f"tshirt-dashboard-session:{expires}".encode()
    return hmac.new(token.encode("utf-8"), message, hashlib.sha256).hexdigest()


def token_is_valid(presented: str) -> bool:
    return bool(presented) and token_matches(presented, _settings().api_tokens)


def session_cookie_for(token: str, now: float | None = None) -> str:
    expires = int(now if now is not None else time.time()) + SESSION_SECONDS
    return f"{_SESSION_VERSION}.{expires}.{_signature(token, expires)}"


def signed_in(now: float | None = None) -> bool:
    """Whether this request carries a live session cookie signed with a configured token.

    Every token is tried, without stopping at the first match, as `auth.token_matches` does."""
    if open_without_login():
        return True
    version, _, rest = request.cookies.get(SESSION_COOKIE, "").partition(".")
    expires_text, _, signature = rest.partition(".")
    if version != _SESSION_VERSION or not expires_text.isdigit():
        return False
    expires = int(expires_text)
    if expires < (now if now is not None else time.time()):
        return False
    found = False
    for token in _settings().api_tokens:
        found |= hmac.compare_digest(signature, _signature(token, expires))
    return found


def _cookie_options() -> dict[str, object]:
    return {"httponly": True, "samesite": "Strict", "secure": request.is_secure,
            "path": "/dashboard"}


def start_session(response: Response, token: str) -> None:
    response.set_cookie(SESSION_COOKIE, session_cookie_for(token), max_age=SESSION_SECONDS,
                        **_cookie_options())  # type: ignore[arg-type]


def end_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, **_cookie_options())  # type: ignore[arg-type]


# -- CSRF --------------------------------------------------------------------------------------


def csrf_token() -> str:
    """This browser's CSRF token, made on its first visit (set by `keep_csrf_cookie`)."""
    token = request.cookies.get(CSRF_COOKIE, "")
    if len(token) < 32:
        token = getattr(request, "_tshirt_new_csrf", "") or secrets.token_urlsafe(32)
        request._tshirt_new_csrf = token  # type: ignore[attr-defined]
    return token


def keep_csrf_cookie(response: Response) -> Response:
    """Send the CSRF cookie when this request made the token (first visit, or cookie lost)."""
    token = getattr(request, "_tshirt_new_csrf", "")
    if token:
        response.set_cookie(CSRF_COOKIE, token, **_cookie_options())  # type: ignore[arg-type]
    return response


def csrf_passes() -> bool:
    """A form post is ours when its hidden field repeats the cookie that only we set."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    field = request.form.get(CSRF_FIELD, "")
    return len(cookie) >= 32 and hmac.compare_digest(cookie.encode(), field.encode())
