"""A misconfigured render worker refuses to start with one line (issue 20.3), against a real
service on loopback with PostgreSQL and Redis as in README's "Many machines"; and a worker's
broker errors while it runs are one line each, not a traceback per poll."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from common_helpers import free_port
from fake_renderer import FakeRenderer
from queue_helpers import TOKEN, Proc, redis_url, wait_for, wait_http

from sync_service.queue.broker import OneLineBrokerErrors
from sync_service.queue.runtime import get_queue

START_TIMEOUT_S = 60


@pytest.fixture
def many_machines(postgres_database_url: str, spawn: Callable[..., Proc], tmp_path: Path,
                  fake_renderer: FakeRenderer) -> dict[str, str]:
    """A service with no render threads of its own on PostgreSQL and Redis; returns what a
    healthy remote worker's environment holds. (The database is set up first, so that it
    outlives the processes at teardown.)"""
    url = redis_url()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = spawn("serve", ["serve", "--port", str(port), "--workers", "1"],
                   TSHIRT_DATA_DIR=str(tmp_path / "service-data"), REDIS_URL=url,
                   DATABASE_URL=postgres_database_url, TSHIRT_RENDER_WORKERS="0")
    wait_http(base, server)
    return {"REDIS_URL": url, "DATABASE_URL": postgres_database_url,
            "TSHIRT_SERVICE_URL": base, "TSHIRT_SERVICE_TOKEN": TOKEN,
            "TSHIRT_API_TOKENS": "", "TSHIRT_DATA_DIR": str(tmp_path / "worker-data"),
            "TSHIRT_BLENDER_BIN": str(fake_renderer.binary)}


def refused(spawn: Callable[..., Proc], name: str, env: dict[str, str]) -> str:
    """Start a worker that must refuse: it exits non-zero and writes exactly one line."""
    worker = spawn(name, ["worker"], **env)
    try:
        code = worker.process.wait(START_TIMEOUT_S)
    finally:
        worker.stop()
    lines = worker.output().strip().splitlines()
    assert code != 0 and len(lines) == 1, (code, worker.output())
    assert lines[0].startswith("tshirt-service: "), lines
    return lines[0]


def test_a_healthy_remote_worker_starts(spawn, many_machines) -> None:
    worker = spawn("worker", ["worker"], TSHIRT_WORKER_NAME="box-ok", **many_machines)
    wait_for(lambda: "render thread(s)" in worker.output() or worker.process.poll() is not None,
             START_TIMEOUT_S, "the worker did not start")
    assert worker.process.poll() is None, worker.output()


def test_a_wrong_or_missing_token_or_service_url_refuses_to_start(spawn, many_machines,
                                                                   tmp_path: Path) -> None:
    line = refused(spawn, "wrong-token", {**many_machines, "TSHIRT_SERVICE_TOKEN": "nope"})
    assert "TSHIRT_SERVICE_TOKEN" in line and "TSHIRT_API_TOKENS" in line
    # No token at all: no made-up one either.
    line = refused(spawn, "no-token", {**many_machines, "TSHIRT_SERVICE_TOKEN": ""})
    assert "needs the service's token in TSHIRT_SERVICE_TOKEN" in line
    # A shared database and broker but no service URL and a disk of its own: it would fail
    # every job with `design_missing`.
    line = refused(spawn, "no-url", {**many_machines, "TSHIRT_SERVICE_URL": ""})
    assert "TSHIRT_SERVICE_URL is not set" in line and "not the service's data directory" in line
    port = free_port()
    line = refused(spawn, "url-nobody", {**many_machines,
                                         "TSHIRT_SERVICE_URL": f"http://127.0.0.1:{port}"})
    assert "Cannot reach the service" in line and "TSHIRT_SERVICE_URL" in line


def test_a_wrong_broker_refuses_to_start(spawn, many_machines) -> None:
    redis = many_machines["REDIS_URL"]
    host, _, rest = redis.rpartition(":")
    port = free_port()
    line = refused(spawn, "wrong-port", {**many_machines,
                                         "REDIS_URL": f"{host}:{port}/{rest.split('/')[1]}"})
    assert "Cannot reach the broker at REDIS_URL" in line and str(port) in line
    # The service's Redis, but another database number: it would wait for jobs for ever.
    other_db = redis.rsplit("/", 1)[0] + "/7"
    line = refused(spawn, "wrong-db", {**many_machines, "REDIS_URL": other_db})
    assert "No service uses the queue" in line and "database number" in line
    line = refused(spawn, "wrong-queue", {**many_machines, "TSHIRT_QUEUE_NAME": "other"})
    assert "No service uses the queue 'other'" in line


def test_a_worker_that_cannot_write_render_or_reach_its_database_refuses(
        spawn, many_machines, tmp_path: Path) -> None:
    not_a_dir = tmp_path / "a-file"
    not_a_dir.write_text("x")
    line = refused(spawn, "data-dir", {**many_machines, "TSHIRT_DATA_DIR": str(not_a_dir)})
    assert "TSHIRT_DATA_DIR" in line and "cannot be written" in line
    line = refused(spawn, "no-blender", {**many_machines,
                                         "TSHIRT_BLENDER_BIN": str(tmp_path / "no-blender")})
    assert "TSHIRT_BLENDER_BIN" in line and "not an executable" in line
    wrong_db = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing"
    line = refused(spawn, "wrong-database", {**many_machines, "DATABASE_URL": wrong_db})
    assert "Cannot use the database at DATABASE_URL" in line


def test_a_local_worker_sharing_the_data_dir_needs_no_service_url(spawn, tmp_path: Path,
                                                                   fake_renderer) -> None:
    """The service's own machine (or a shared disk): the same data directory, no URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data = tmp_path / "data"
    server = spawn("serve", ["serve", "--port", str(port), "--workers", "1"],
                   TSHIRT_DATA_DIR=str(data), TSHIRT_RENDER_WORKERS="0")
    wait_http(base, server)
    worker = spawn("worker", ["worker"], TSHIRT_DATA_DIR=str(data),
                   TSHIRT_BLENDER_BIN=str(fake_renderer.binary))
    wait_for(lambda: "render thread(s)" in worker.output() or worker.process.poll() is not None,
             START_TIMEOUT_S, "the worker did not start")
    assert worker.process.poll() is None, worker.output()
    worker.stop(signal.SIGTERM)


def test_broker_errors_are_one_line_each_with_a_growing_gap() -> None:
    """What Huey logs per failed poll of an unreachable Redis: the first error as one line,
    the same again only after a doubling gap, with a count of those held back."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    records: list[logging.LogRecord] = []
    broker_filter = OneLineBrokerErrors()

    def log(message: str) -> None:
        try:
            raise RedisConnectionError("Error 111 connecting to 127.0.0.1:1. Refused.")
        except RedisConnectionError:
            record = logging.getLogger("huey.consumer.Worker").makeRecord(
                "huey.consumer.Worker", logging.ERROR, __file__, 1, message, (), None)
            record.exc_info = sys.exc_info()
        if broker_filter.filter(record):
            records.append(record)

    for _ in range(50):
        log("Error reading from queue")
    assert len(records) == 1
    record = records[0]
    assert record.exc_info is None and record.levelno == logging.WARNING
    text = record.getMessage()
    assert "\n" not in text and "the broker is unreachable (ConnectionError: Error 111" in text
    other = logging.getLogger("huey").makeRecord("huey", logging.ERROR, __file__, 1,
                                                  "something else", (), None)
    assert broker_filter.filter(other) and other.getMessage() == "something else"


def test_the_service_keeps_its_marker_in_the_broker(make_app, monkeypatch) -> None:
    """A broker restarted without its data has the marker back within the refresh period."""
    from sync_service.queue import preflight
    from sync_service.queue.broker import MARKER_KEY, read_marker

    monkeypatch.setattr(preflight, "MARKER_REFRESH_S", 0.05)
    app = make_app()
    huey = get_queue(app).render_huey
    stop = threading.Event()
    storage = app.extensions["tshirt"].storage
    try:
        preflight.publish(app.extensions["tshirt"].settings, huey, storage, stop)
        assert read_marker(huey)["data_id"] == storage.data_id()
        huey.delete(MARKER_KEY)
        wait_for(lambda: read_marker(huey) is not None, 5, "the marker did not come back")
    finally:
        stop.set()
