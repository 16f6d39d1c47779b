"""Fixtures for the render queue tests (defined in `queue_helpers`): a migrated data directory,
an app with its queue, a fake Blender for the queue's own logic, and real servers and workers as
subprocesses on loopback.

Redis tests read `TEST_REDIS_URL` (start a server with `.ci/redis`); without it they are
skipped locally and fail in CI (`CI` set), so CI cannot pass by skipping them.
"""

from queue_helpers import (  # noqa: F401 - fixtures are found by name
    data_dir,
    fake_blender,
    make_app,
    migrated_sqlite,
    postgres_database_url,
    spawn,
)
