"""Fixtures for the dashboard tests (defined in `dashboard_helpers`; the migrated data directory
comes from `tests/conftest.py`)."""

from dashboard_helpers import (  # noqa: F401 - fixtures are found by name
    app,
    browser,
    client,
    fake_renderer,
    live_service,
    logged_in,
    spawn,
)
