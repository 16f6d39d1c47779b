"""A render worker's checks at start, so that it never takes a job it cannot finish. Each
failure is a ConfigError of one line that names what to fix (the CLI prints it and exits 1):

1. a remote worker (`TSHIRT_SERVICE_URL`) has a token and a database that is not its own;
2. the data directory (the worker's scratch space) can be written;
3. something can render: `TSHIRT_BLENDER_BIN` is an executable, or the Python that renders
   (`TSHIRT_BLENDER_PYTHON`, default this one) finds the `bpy` module;
4. the broker answers and holds the service's queue (the service's marker, see `broker`:
   a wrong Redis host, port, database number or `TSHIRT_QUEUE_NAME` has none);
5. without `TSHIRT_SERVICE_URL`, the data directory is the service's own (else every job
   would fail for a design it cannot see);
6. the database answers and holds the job table;
7. a remote worker's service answers and takes the token (`check_service`, asked after the
   worker delivered what an earlier run of it left, which may mean waiting for the service).

`publish` is the service's side of check 4: its queue process writes the marker.
"""

from __future__ import annotations

import contextlib
import importlib.util
import shutil
import subprocess
import sys
import threading
import time

from huey import Huey
from sqlalchemy import inspect, text
from sqlalchemy.exc import SQLAlchemyError

from shared.errors import TshirtError

from ..config import ConfigError, Settings, sqlite_url
from ..db import Database
from ..jobs.storage import Storage
from .broker import BROKER_ERRORS, describe, publish_marker, read_marker, redacted
from .remote import ServiceClient
from .runtime import make_huey

#: A worker started together with the service waits this long for the service's marker.
MARKER_WAIT_S = 10.0
MARKER_REFRESH_S = 30.0
FIND_BPY = "import importlib.util, sys; sys.exit(importlib.util.find_spec('bpy') is None)"
JOB_TABLE = "render_jobs"


def check_worker(settings: Settings) -> None:
    """Checks 1-6 (see the module)."""
    queue = settings.queue
    queue.check_remote()
    if queue.remote and settings.database_url == sqlite_url(settings.data_dir):
        # Its own empty database would find none of the queue's jobs and drop their tasks.
        raise ConfigError("A remote worker (TSHIRT_SERVICE_URL) needs the service's database "
                          "in DATABASE_URL.")
    storage = Storage(settings.data_dir)
    try:
        storage.ensure()
        storage.check_writable()
    except (TshirtError, OSError) as error:
        raise ConfigError(f"TSHIRT_DATA_DIR {settings.data_dir} (the worker's scratch space) "
                          f"cannot be written: {getattr(error, 'message', None) or error}") \
            from None
    _check_renderer(settings)
    marker = _service_marker(settings)
    if not queue.remote and marker.get("data_id") != storage.data_id():
        raise ConfigError(f"TSHIRT_SERVICE_URL is not set, and TSHIRT_DATA_DIR "
                          f"{settings.data_dir} is not the service's data directory: a render "
                          "machine with a disk of its own needs TSHIRT_SERVICE_URL and "
                          "TSHIRT_SERVICE_TOKEN.")
    _check_database(settings.database_url)


def check_service(client: ServiceClient) -> None:
    """Check 7: the service answers and accepts the token."""
    try:
        client.check()
    except TshirtError as error:
        raise ConfigError(f"{error.message} Check TSHIRT_SERVICE_URL.") from None


def publish(settings: Settings, huey: Huey, storage: Storage, stop: threading.Event) -> None:
    """What the service's own queue process does: the marker workers look for, at start and
    then every `MARKER_REFRESH_S` until `stop` (a Redis restarted without its data has it back
    in seconds), on a daemon thread."""
    data_id = storage.data_id(create=True)
    assert data_id is not None
    publish_marker(huey, data_id, settings.queue.name)

    def refresh() -> None:
        while not stop.wait(MARKER_REFRESH_S):
            with contextlib.suppress(*BROKER_ERRORS):  # the consumer reports the broker
                publish_marker(huey, data_id, settings.queue.name)

    threading.Thread(target=refresh, name="queue marker", daemon=True).start()


def _check_renderer(settings: Settings) -> None:
    queue = settings.queue
    if queue.blender_bin:
        if shutil.which(queue.blender_bin) is None:
            raise ConfigError(f"TSHIRT_BLENDER_BIN {queue.blender_bin!r} is not an executable "
                              "file.")
        return
    python = queue.blender_python or sys.executable
    if python == sys.executable:
        found = importlib.util.find_spec("bpy") is not None
    else:
        try:
            found = subprocess.run([python, "-c", FIND_BPY], capture_output=True,
                                   timeout=60).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            found = False
    if not found:
        raise ConfigError(f"Nothing to render with: TSHIRT_BLENDER_BIN is unset and {python} "
                          "cannot import bpy (install the 'blender' extra, or set "
                          "TSHIRT_BLENDER_BIN to a Blender executable).")


def _service_marker(settings: Settings) -> dict[str, object]:
    queue = settings.queue
    where = (f"REDIS_URL {redacted(queue.redis_url)}" if queue.redis_url
             else f"the SQLite queue in TSHIRT_DATA_DIR {settings.data_dir}")
    huey = make_huey(queue, settings.data_dir, "render")
    deadline = time.monotonic() + MARKER_WAIT_S
    try:
        while True:
            try:
                marker = read_marker(huey)
            except BROKER_ERRORS as error:
                raise ConfigError(f"Cannot reach the broker at {where}: {describe(error)}.") \
                    from None
            if marker is not None:
                return marker
            if time.monotonic() >= deadline:
                raise ConfigError(
                    f"No service uses the queue {queue.name!r} at {where}: check the Redis "
                    "host, port and database number, TSHIRT_QUEUE_NAME, and that the service "
                    "has started." if queue.redis_url else
                    f"No service uses the queue {queue.name!r} at {where}: set TSHIRT_DATA_DIR "
                    "to the service's data directory, or REDIS_URL to its broker.")
            time.sleep(0.2)
    finally:
        huey.storage.close()


def _check_database(url: str) -> None:
    database = Database(url, pool_size=1)
    try:
        with database.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            migrated = inspect(connection).has_table(JOB_TABLE)
    except SQLAlchemyError as error:
        cause = getattr(error, "orig", None) or error
        raise ConfigError(f"Cannot use the database at DATABASE_URL {redacted(url)}: "
                          f"{describe(cause)}.") from None
    finally:
        database.dispose()
    if not migrated:
        raise ConfigError(f"The database at DATABASE_URL {redacted(url)} has no job table: it "
                          "is not the service's (or run `tshirt-service db upgrade`).")
