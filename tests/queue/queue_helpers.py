"""Fixtures and helpers for the queue tests (`conftest.py` re-exports the fixtures)."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from common_helpers import multipart, server_url
from fake_renderer import FakeRenderer
from flask import Flask
from PIL import Image
from werkzeug.serving import make_server

from sync_service.app import create_app
from sync_service.queue.runtime import get_queue

REPO = Path(__file__).resolve().parents[2]
SAMPLE_DESIGN = REPO / "render_assets" / "designs" / "sample.png"
TOKEN = "queue-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
#: Tiny real renders: 64 px stills at 1 sample, a 4-frame turntable rendered directly.
TINY = {"resolution": 64, "samples": 1, "frames": 4, "turntable_method": "path"}


def png_bytes(size: int = 32, color: tuple[int, int, int, int] = (200, 30, 30, 255)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", (size, size), color).save(buffer, "PNG")
    return buffer.getvalue()




@pytest.fixture
def fake_renderer(tmp_path: Path) -> FakeRenderer:
    """The one fake renderer (`tests/fake_renderer.py`), started by the worker as a Blender
    binary would be."""
    return FakeRenderer(tmp_path / "fake-renderer")


@pytest.fixture
def make_app(data_dir: Path) -> Iterator[Callable[..., Flask]]:
    apps: list[Flask] = []

    def make(**config: Any) -> Flask:
        app = create_app({"TESTING": True, "TSHIRT_DATA_DIR": str(data_dir),
                          "TSHIRT_API_TOKENS": TOKEN, "TSHIRT_DEV_MODE": False,
                          "REDIS_URL": None, "TSHIRT_RETRY_DELAY_S": 0, **config})
        apps.append(app)
        return app

    yield make
    for app in apps:
        get_queue(app).stop(wait_s=5)
        app.extensions["tshirt"].db.dispose()


def submit(app: Flask, design: bytes | None = None, **fields: Any) -> str:
    data = {"product_id": "prod_q", "preset": "chest-medium", "color": "navy", **fields}
    data["design"] = (io.BytesIO(png_bytes() if design is None else design), "design.png")
    response = app.test_client().post("/admin/render-jobs", headers=AUTH, **multipart(data))
    assert response.status_code == 202, response.json
    return response.json["id"]


def job_of(app: Flask, job_id: str) -> dict[str, Any]:
    response = app.test_client().get(f"/admin/render-jobs/{job_id}", headers=AUTH)
    assert response.status_code == 200
    return response.json


def processes_with(text: str) -> list[int]:
    """Live processes whose command line mentions `text` (a job id), zombies excluded."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if text in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


def wait_for(condition: Callable[[], Any], timeout: float, message: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, message
        time.sleep(0.02)


# -- real processes on loopback ----------------------------------------------------------------


def redis_url() -> str:
    return server_url("TEST_REDIS_URL", ".ci/redis")


#: How `Proc` starts Python: the service's command line (a test may run its own program).
CLI = ("-m", "sync_service.cli")


class Proc:
    """A `tshirt-service` subprocess with its output in a log file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path,
                 program: tuple[str, ...] = CLI) -> None:
        self.log = log
        self.handle = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, *program, *args], env=env, cwd=log.parent,
            stdout=self.handle, stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.handle.close()


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., Proc]]:
    procs: list[Proc] = []
    queue_name = f"t{os.getpid()}-{time.monotonic_ns()}"

    def start(name: str, args: list[str], *, program: tuple[str, ...] = CLI, **env: str) -> Proc:
        full = {k: v for k, v in os.environ.items()
                if k not in ("DATABASE_URL", "REDIS_URL", "TSHIRT_SERVICE_URL")}
        full.update({"PYTHONPATH": str(REPO), "TSHIRT_API_TOKENS": TOKEN,
                     "TSHIRT_RENDER_OVERRIDES": json.dumps(TINY),
                     "TSHIRT_QUEUE_NAME": queue_name, "TSHIRT_RETRY_DELAY_S": "0", **env})
        proc = Proc(args, full, tmp_path / f"{name}.log", program)
        procs.append(proc)
        return proc

    yield start
    for proc in reversed(procs):
        proc.stop()


def http(method: str, url: str, **kwargs: Any) -> requests.Response:
    """One request on a session of its own, closed before returning (no socket is left for
    the garbage collector to warn about); the body is read and kept."""
    kwargs.setdefault("timeout", 10)
    with requests.Session() as session, session.request(method, url, **kwargs) as response:
        _ = response.content
        return response


def wait_http(base: str, proc: Proc, timeout: float = 60) -> None:
    """Until the service's /health answers 200. Idle, a fresh `serve` does in ~4.5 s; on CI's 2
    loaded cores it once took over 30 s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if http("GET", f"{base}/health", timeout=5).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or still starting up
            pass
        assert proc.process.poll() is None, proc.output()
        time.sleep(0.1)
    raise AssertionError("the service did not start:\n" + proc.output())


def upload(base: str, design: Path = SAMPLE_DESIGN, **fields: str) -> dict[str, Any]:
    data = {"product_id": "prod_e2e", "preset": "chest-medium", "color": "#c8102e", **fields}
    with design.open("rb") as handle:
        # a service just started shares CI's 2 cores with the worker loading Blender (its
        # preflight): the first answer has taken over 10 s there, though ~0.1 s when idle
        response = http("POST", f"{base}/admin/render-jobs", headers=AUTH, data=data,
                        files={"design": (design.name, handle, "image/png")}, timeout=30)
    assert response.status_code == 202, response.text
    return response.json()


def poll(base: str, job_id: str, until: Callable[[dict[str, Any]], bool], timeout: float = 90,
         seen: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = http("GET", f"{base}/admin/render-jobs/{job_id}", headers=AUTH).json()
        if seen is not None:
            seen.append(job)
        if until(job):
            return job
        assert time.monotonic() < deadline, f"timed out waiting; last: {job}"
        time.sleep(0.1)


@pytest.fixture
def served(make_app: Callable[..., Flask]) -> Iterator[tuple[Flask, str]]:
    """The service (no render threads of its own) answering on a loopback port."""
    app = make_app(TSHIRT_RENDER_WORKERS=0)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
