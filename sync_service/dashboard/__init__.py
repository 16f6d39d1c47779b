"""The shop's dashboard at `/dashboard`: server-rendered pages over the same jobs, files and
tokens as the API, with a little plain JavaScript for live progress (no build step, no CDN)."""

from __future__ import annotations

from flask import Flask, Response, redirect, url_for

from .views import bp


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.add_url_rule("/", "root", _to_dashboard)


def _to_dashboard() -> Response:
    return redirect(url_for("dashboard.jobs"))  # type: ignore[return-value]
