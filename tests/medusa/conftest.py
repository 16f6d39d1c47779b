"""Fixtures for the store-push tests (defined in `medusa_helpers`; the migrated data directory
comes from `tests/conftest.py`):
an app whose push is configured per test, and the real Medusa from `.ci/medusa`."""

from medusa_helpers import (  # noqa: F401 - fixtures are found by name
    database_config,
    make_app,
    medusa,
)
