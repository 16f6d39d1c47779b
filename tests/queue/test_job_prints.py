"""A job of several prints rendered by the worker (issue 16): the spec the renderer gets carries
every print with its placement and its own design's print copy (a design that two prints share
normalised once); a remote worker fetches each print's design over HTTP, checks its sha256, and
fails a damaged one. The remote worker runs in-process against the service served on loopback
by a thread (the same database file, a data directory of its own)."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from common_helpers import multipart
from fake_renderer import FakeRenderer
from flask import Flask
from queue_helpers import AUTH, job_of, png_bytes

from sync_service.config import sqlite_url
from sync_service.jobs.design_image import normalise
from sync_service.queue.remote import ServiceClient
from sync_service.queue.runtime import get_queue

GREEN = png_bytes(40, (0, 200, 0, 255))
MAGENTA = png_bytes(24, (200, 0, 200, 255))
PRINTS = [
    {"file": "front", "preset": "chest-medium", "offset_cm": [1, 5], "scale": 0.5,
     "rotation_deg": 15},
    {"file": "back", "preset": "back-large"},
    {"file": "front", "preset": "back-bottom-small"},
]


def submit_prints(app: Flask, prints: list[dict[str, Any]] = PRINTS) -> str:
    data = {"product_id": "prod_q", "color": "navy", "prints": json.dumps(prints),
            "front": (io.BytesIO(GREEN), "green.png"),
            "back": (io.BytesIO(MAGENTA), "magenta.png")}
    response = app.test_client().post("/admin/render-jobs", headers=AUTH, **multipart(data))
    assert response.status_code == 202, response.json
    return response.json["id"]


def copy_sha(design: bytes) -> str:
    """The sha256 of the print copy the worker makes of `design`."""
    return hashlib.sha256(normalise(design)).hexdigest()


def check_rendered_spec(run: dict[str, Any]) -> None:
    spec_prints = run["spec"]["prints"]
    assert [(p["preset"], p["offset_cm"], p["scale"], p["rotation_deg"]) for p in spec_prints] \
        == [("chest-medium", [1.0, 5.0], 0.5, 15.0), ("back-large", [0.0, 0.0], 1.0, 0.0),
            ("back-bottom-small", [0.0, 0.0], 1.0, 0.0)]
    # each print's own design, normalised; the one both the front and the lower back print
    # use is one file
    assert run["designs"] == [copy_sha(GREEN), copy_sha(MAGENTA), copy_sha(GREEN)]
    assert spec_prints[0]["design"] == spec_prints[2]["design"] != spec_prints[1]["design"]


def test_the_worker_renders_every_print(make_app: Callable[..., Flask],
                                        fake_renderer: FakeRenderer) -> None:
    app = make_app(TSHIRT_BLENDER_BIN=str(fake_renderer.binary))
    job_id = submit_prints(app)
    get_queue(app).worker.run(job_id)
    job = job_of(app, job_id)
    assert job["status"] == "completed", job["error"]
    (run,) = fake_renderer.runs()
    check_rendered_spec(run)
    assert [p["preset"] for p in job["prints"]] == [p["preset"] for p in PRINTS]


def remote_worker(make_app: Callable[..., Flask], base: str, data_dir: Path, tmp_path: Path,
                  fake: FakeRenderer) -> Any:
    remote = make_app(TSHIRT_DATA_DIR=str(tmp_path / "worker-data"),
                      DATABASE_URL=sqlite_url(data_dir), TSHIRT_SERVICE_URL=base,
                      TSHIRT_BLENDER_BIN=str(fake.binary))
    queue = get_queue(remote)
    queue.enqueued = []
    queue.worker.enqueue = lambda job_id, delay: queue.enqueued.append((job_id, delay))
    return queue.worker


def test_a_remote_worker_fetches_each_design(
        served: tuple[Flask, str], make_app: Callable[..., Flask], data_dir: Path,
        tmp_path: Path, fake_renderer: FakeRenderer, monkeypatch: pytest.MonkeyPatch) -> None:
    service, base = served
    worker = remote_worker(make_app, base, data_dir, tmp_path, fake_renderer)
    fetched: list[int] = []
    download = ServiceClient.download_design

    def counted(client: ServiceClient, job_id: str, target: Path, sha256: str,
                position: int = 0) -> None:
        fetched.append(position)
        download(client, job_id, target, sha256, position)

    monkeypatch.setattr(ServiceClient, "download_design", counted)
    job_id = submit_prints(service)
    worker.run(job_id)
    job = job_of(service, job_id)
    assert job["status"] == "completed", job["error"]
    assert fetched == [0, 1]  # the third print's design is the first one's
    (run,) = fake_renderer.runs()
    check_rendered_spec(run)


def test_a_remote_worker_refuses_a_damaged_design(
        served: tuple[Flask, str], make_app: Callable[..., Flask], data_dir: Path,
        tmp_path: Path, fake_renderer: FakeRenderer) -> None:
    service, base = served
    worker = remote_worker(make_app, base, data_dir, tmp_path, fake_renderer)
    job_id = submit_prints(service)
    stored = service.extensions["tshirt"].storage.path(f"jobs/{job_id}/design-1.png")
    stored.write_bytes(GREEN)  # the back's design changed behind the job's back
    worker.run(job_id)
    job = job_of(service, job_id)
    assert job["error"]["code"] == "design_download_failed", job
    assert "sha256 differs" in job["error"]["message"]
    assert fake_renderer.runs() == []
