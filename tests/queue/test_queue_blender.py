"""End to end with real Blender (the `bpy` wheel) at tiny settings: HTTP upload, the queue, the
worker, the renderer and back; Redis with a remote worker process; a worker killed mid-render;
cancel, time limit and a corrupt design."""

from __future__ import annotations

import signal
import struct
import threading
import time
import zlib
from pathlib import Path
from typing import Any

import pytest
from common_helpers import free_port
from queue_helpers import (
    AUTH,
    TINY,
    http,
    job_of,
    poll,
    processes_with,
    redis_url,
    submit,
    upload,
    wait_for,
    wait_http,
)

from sync_service.config import sqlite_url
from sync_service.models import RenderJob
from sync_service.queue.runtime import get_queue

pytest.importorskip("bpy", reason="needs the bpy wheel (the 'blender' extra)")
pytestmark = pytest.mark.blender

SIX = {"front_0deg", "left_90deg", "right_270deg", "back_180deg", "front_45deg_left",
       "front_45deg_right"}


def check_completed(base: str, job: dict[str, Any], seen: list[dict[str, Any]]) -> None:
    assert job["status"] == "completed", job
    assert job["progress"] == 100 and job["error"] is None
    assert job["media_sync_status"] == "not_configured"
    stills = {o["angle"] for o in job["outputs"] if o["kind"] == "still"}
    assert stills == SIX
    assert [o["file"] for o in job["outputs"] if o["kind"] == "animation"] == ["turntable.mp4"]
    progress = [j["progress"] for j in seen]
    assert progress == sorted(progress), progress  # never went backwards
    assert any(0 < p < 100 for p in progress), progress  # and was seen in between
    front = next(o for o in job["outputs"] if o["angle"] == "front_0deg")
    image = http("GET", f"{base}{front['url']}", headers=AUTH)
    assert image.status_code == 200 and image.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_upload_render_complete_with_the_embedded_worker(spawn, tmp_path: Path) -> None:
    """The README's one command: `serve` (HTTP processes plus the embedded queue process),
    which also submits the bundled sample; a client uploads its own design meanwhile."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = spawn("serve", ["serve", "--port", str(port), "--threads", "4", "--submit-sample"],
                   TSHIRT_DATA_DIR=str(tmp_path / "data"))
    wait_http(base, server)
    job = upload(base)
    assert job["status"] == "pending"
    seen: list[dict[str, Any]] = []
    job = poll(base, job["id"], lambda j: j["status"] in ("completed", "failed", "cancelled"),
               seen=seen)
    check_completed(base, job, seen)
    assert job["attempts"] == 1
    outputs = tmp_path / "data" / "jobs" / job["id"] / "outputs"
    assert (outputs / "manifest.json").is_file() and (outputs / "turntable.mp4").is_file()
    wait_for(lambda: "images and video:" in server.output(), 60, "the sample was not rendered")
    sample = http("GET", f"{base}/admin/render-jobs?product_id=sample",
                  headers=AUTH).json()["items"]
    assert [j["status"] for j in sample] == ["completed"]


def test_redis_queue_with_a_remote_worker_process(spawn, tmp_path: Path) -> None:
    url = redis_url()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    service_data = tmp_path / "service-data"
    server = spawn("serve", ["serve", "--port", str(port), "--workers", "1"],
                   TSHIRT_DATA_DIR=str(service_data), REDIS_URL=url, TSHIRT_RENDER_WORKERS="0")
    wait_http(base, server)
    # The render machine: the same database and queue, its own disk, files over HTTP.
    worker_data = tmp_path / "worker-data"
    worker = spawn("worker", ["worker"], TSHIRT_DATA_DIR=str(worker_data), REDIS_URL=url,
                   DATABASE_URL=sqlite_url(service_data), TSHIRT_SERVICE_URL=base,
                   TSHIRT_SERVICE_TOKEN="queue-test-token", TSHIRT_API_TOKENS="",
                   TSHIRT_WORKER_NAME="render-box-1")
    job = upload(base)
    seen: list[dict[str, Any]] = []
    job = poll(base, job["id"], lambda j: j["status"] in ("completed", "failed", "cancelled"),
               seen=seen)
    check_completed(base, job, seen)
    assert any((j["worker_id"] or "").startswith("render-box-1/") for j in seen)
    assert (service_data / "jobs" / job["id"] / "outputs" / "front_0deg.png").is_file()
    assert not (worker_data / "jobs").exists() or not any((worker_data / "jobs").iterdir())
    assert worker.process.poll() is None, worker.output()
    assert server.process.poll() is None


def test_a_worker_killed_mid_render_is_replaced_by_another(spawn, tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data = tmp_path / "data"
    server = spawn("serve", ["serve", "--port", str(port), "--workers", "1"],
                   TSHIRT_DATA_DIR=str(data), TSHIRT_RENDER_WORKERS="0")
    wait_http(base, server)
    slow = '{"resolution": 64, "samples": 1, "frames": 40, "turntable_method": "path"}'
    common = {"TSHIRT_DATA_DIR": str(data), "TSHIRT_HEARTBEAT_S": "0.5",
              "TSHIRT_STALL_AFTER_S": "3", "TSHIRT_STALL_CHECK_S": "0.5",
              "TSHIRT_RENDER_OVERRIDES": slow}
    first = spawn("worker-a", ["worker"], TSHIRT_WORKER_NAME="worker-a", **common)
    job = upload(base)
    poll(base, job["id"], lambda j: j["status"] == "rendering"
         and (j["worker_id"] or "").startswith("worker-a/"), timeout=60)
    assert processes_with(job["id"])
    first.process.send_signal(signal.SIGKILL)
    first.process.wait(5)
    # Its Blender dies with it (no orphaned render eating the CPU).
    wait_for(lambda: not processes_with(job["id"]), 5, "Blender outlived its worker")
    assert job_of_http(base, job["id"])["status"] == "rendering"
    spawn("worker-b", ["worker"], TSHIRT_WORKER_NAME="worker-b", **common)
    seen: list[dict[str, Any]] = []
    done = poll(base, job["id"], lambda j: j["status"] in ("completed", "failed"), seen=seen,
                timeout=90)
    assert done["status"] == "completed", done
    assert done["attempts"] == 2 and done["worker_id"].startswith("worker-b/")


def job_of_http(base: str, job_id: str) -> dict[str, Any]:
    return http("GET", f"{base}/admin/render-jobs/{job_id}", headers=AUTH).json()


# -- in-process worker, real Blender ----------------------------------------------------------


def blender_app(make_app: Any, **config: Any) -> Any:
    app = make_app(TSHIRT_RENDER_OVERRIDES=config.pop("overrides", TINY), **config)
    queue = get_queue(app)
    queue.enqueued = []
    queue.worker.enqueue = lambda job_id, delay: queue.enqueued.append((job_id, delay))
    return app


def test_cancel_stops_real_blender_and_removes_partial_files(make_app) -> None:
    app = blender_app(make_app, TSHIRT_HEARTBEAT_S=0.5,
                      overrides={**TINY, "frames": 200})
    job_id = submit(app)
    thread = threading.Thread(target=get_queue(app).worker.run, args=(job_id,))
    thread.start()
    wait_for(lambda: job_of(app, job_id)["status"] == "rendering", 60, "never rendered")
    assert processes_with(job_id)
    cancelled_at = time.monotonic()
    assert app.test_client().post(f"/admin/render-jobs/{job_id}/cancel",
                                  headers=AUTH).status_code == 200
    wait_for(lambda: not processes_with(job_id), 5, "Blender still running 5 s after cancel")
    assert time.monotonic() - cancelled_at < 5.0
    thread.join(10)
    job = job_of(app, job_id)
    assert job["status"] == "cancelled" and job["outputs"] == []
    root = app.extensions["tshirt"].storage.root
    assert list((root / "tmp").iterdir()) == []
    assert not (root / "jobs" / job_id / "outputs").exists()


def test_the_time_limit_stops_real_blender(make_app) -> None:
    app = blender_app(make_app, TSHIRT_RENDER_TIMEOUT_S=2.5, TSHIRT_MAX_ATTEMPTS=1,
                      overrides={**TINY, "frames": 200})
    job_id = submit(app)
    started = time.monotonic()
    get_queue(app).worker.run(job_id)
    assert time.monotonic() - started < 2.5 + 5
    assert not processes_with(job_id)
    job = job_of(app, job_id)
    assert job["status"] == "failed" and job["error"]["code"] == "render_timeout"
    assert "2.5 s" in job["error"]["message"]


def corrupt_png() -> bytes:
    """A PNG whose signature and header are fine and whose data is garbage."""
    ihdr = struct.pack(">IIBBBBB", 64, 64, 8, 6, 0, 0, 0)
    chunk = struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I",
                                                               zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk + b"garbage!" * 64


def test_a_corrupt_design_fails_once_and_is_not_retried(make_app) -> None:
    app = blender_app(make_app)
    job_id = submit(app)
    # The API decodes uploads, so damage the stored file the way a disk or a copy might.
    ext = app.extensions["tshirt"]
    with ext.db.session() as session:
        ext.storage.path(session.get(RenderJob, job_id).design_path).write_bytes(corrupt_png())
    get_queue(app).worker.run(job_id)
    job = job_of(app, job_id)
    assert (job["status"], job["attempts"]) == ("failed", 1)
    assert job["error"]["code"] == "corrupt_image" and job["error"]["message"]
    assert "\n" not in job["error"]["message"]
    assert get_queue(app).enqueued == []
