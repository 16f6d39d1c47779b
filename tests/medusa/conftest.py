"""Fixtures for the store-push tests (defined in `medusa_helpers`): a migrated data directory,
an app whose push is configured per test, and the real Medusa from `.ci/medusa`."""

from medusa_helpers import (  # noqa: F401 - fixtures are found by name
    data_dir,
    database_config,
    make_app,
    medusa,
    migrated_sqlite,
)
