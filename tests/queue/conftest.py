"""Fixtures for the render queue tests (defined in `queue_helpers`; the migrated data directory
comes from `tests/conftest.py`):
an app with its queue, a fake Blender for the queue's own logic, and real servers and workers as
subprocesses on loopback.

Redis tests read `TEST_REDIS_URL` (start a server with `.ci/redis`); without it they are
skipped locally and fail in CI (`CI` set), so CI cannot pass by skipping them.
"""

from queue_helpers import (  # noqa: F401 - fixtures are found by name
    fake_renderer,
    make_app,
    served,
    spawn,
)
