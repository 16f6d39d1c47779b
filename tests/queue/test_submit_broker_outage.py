"""Submitting survives a broker outage: the job is recorded and answered 202 (never a 500), it
keeps no task id while the broker is away, and a sweep queues it once the broker is back, so
it runs, once. For real with a Redis server of the test's own that it stops and starts again
under `tshirt-service serve`; and in-process with the SQLite queue.
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from common_helpers import free_port
from fake_renderer import FakeRenderer
from queue_helpers import AUTH, http, job_of, poll, submit, upload, wait_for, wait_http
from sqlalchemy import select

from sync_service.models import RenderJob
from sync_service.queue.runtime import UNQUEUED_GRACE_S, UNQUEUED_SWEEP_S, get_queue


class RedisServer:
    """A redis-server of this test alone on a loopback port, stopped and started at will."""

    def __init__(self, folder: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            if os.environ.get("CI"):
                pytest.fail("redis-server is not installed in CI; .ci/redis installs it.")
            pytest.skip("redis-server is not installed (.ci/redis installs it)")
        self.binary = binary
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--dir", str(self.folder), "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self._answers, 10, "redis-server did not start")

    def kill(self) -> None:
        """Gone at once, as in a crash: no shutdown, and its queue is lost with it."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        wait_for(lambda: not self._answers(), 5, "redis-server still answers")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    folder = tmp_path / "redis"
    folder.mkdir()
    server = RedisServer(folder)
    server.start()
    try:
        yield server
    finally:
        server.kill()


def test_a_job_submitted_while_redis_is_down_runs_once_redis_is_back(
        spawn: Any, tmp_path: Path, redis_server: RedisServer,
        fake_renderer: FakeRenderer) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = spawn("serve", ["serve", "--port", str(port), "--workers", "1"],
                   TSHIRT_DATA_DIR=str(tmp_path / "data"), REDIS_URL=redis_server.url,
                   TSHIRT_BLENDER_BIN=str(fake_renderer.binary), TSHIRT_RENDER_WORKERS="1")
    wait_http(base, server)
    before = upload(base, animation="false")
    assert poll(base, before["id"], lambda j: j["status"] == "completed", 60)["attempts"] == 1

    redis_server.kill()
    response = http("GET", f"{base}/health")
    assert (response.status_code, response.json()["queue"]) == (503, "unreachable")
    during = upload(base, animation="false")  # asserts the 202
    assert (during["status"], during["attempts"]) == ("pending", 0)
    listed = http("GET", f"{base}/admin/render-jobs?product_id=prod_e2e",
                  headers=AUTH).json()["items"]
    assert {j["id"] for j in listed} == {before["id"], during["id"]}  # stored once
    time.sleep(UNQUEUED_GRACE_S + UNQUEUED_SWEEP_S)  # sweeps meanwhile find no broker
    assert http("GET", f"{base}/admin/render-jobs/{during['id']}",
                headers=AUTH).json()["status"] == "pending"

    redis_server.start()  # empty: nothing that was queued before survived
    timeout = UNQUEUED_GRACE_S + UNQUEUED_SWEEP_S + 45
    done = poll(base, during["id"], lambda j: j["status"] in ("completed", "failed"), timeout)
    assert (done["status"], done["attempts"]) == ("completed", 1), done
    runs = [run for run in fake_renderer.runs() if run["spec"]["job_id"] == during["id"]]
    assert len(runs) == 1
    # No request failed on the way (the app logs every 500 under sync_service.errors).
    assert "sync_service.errors" not in server.output() and server.process.poll() is None


def _task_id(app: Any, job_id: str) -> str | None:
    with app.extensions["tshirt"].db.session() as session:
        return session.scalar(select(RenderJob.task_id).where(RenderJob.id == job_id))


def test_the_sqlite_queue_away_too_and_the_sweep_queues_each_job_once(
        make_app: Any, fake_renderer: FakeRenderer, monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app(TSHIRT_BLENDER_BIN=str(fake_renderer.binary))
    queue = get_queue(app)
    real_enqueue = queue.render_huey.enqueue

    def locked(_task: Any) -> None:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(queue.render_huey, "enqueue", locked)
    job_id = submit(app, animation="false")  # asserts the 202
    assert _task_id(app, job_id) is None
    assert queue.enqueue_unqueued() == []  # within the grace period: left alone
    assert queue.enqueue_unqueued(grace_s=-1) == []  # the broker is still away
    assert _task_id(app, job_id) is None

    monkeypatch.setattr(queue.render_huey, "enqueue", real_enqueue)
    assert queue.enqueue_unqueued(grace_s=-1) == [job_id]
    assert queue.enqueue_unqueued(grace_s=-1) == []  # once
    assert _task_id(app, job_id) is not None and len(queue.render_huey.pending()) == 1
    queue.start(render_workers=1, maintenance=False)
    done = wait_for(lambda: (job := job_of(app, job_id))["status"] == "completed" and job,
                    30, "the swept job did not run")
    assert done["attempts"] == 1 and len(fake_renderer.runs()) == 1


def test_cancelling_while_the_broker_is_away_is_not_a_500(
        make_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app()
    queue = get_queue(app)
    job_id = submit(app)

    def away(*_args: Any, **_kwargs: Any) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(queue.render_huey, "revoke_by_id", away)
    response = app.test_client().post(f"/admin/render-jobs/{job_id}/cancel", headers=AUTH)
    assert (response.status_code, response.json["status"]) == (200, "cancelled")
    assert queue.enqueue_unqueued(grace_s=-1) == []  # a cancelled job is not swept
