"""A full or read-only data directory (issue 17.5): the job fails cleanly with `storage_full`
or `storage_unwritable`, nothing half-written is published, the service keeps answering, and
the next job after space returns succeeds.

The data directory is a 2 MB tmpfs (mounted here as root; skipped where mounting is not
allowed); the database lives outside it, as PostgreSQL would on a real shop's setup.
"""

from __future__ import annotations

import errno
import io
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from common_helpers import multipart
from fake_renderer import FakeRenderer
from queue_helpers import AUTH, job_of, png_bytes, submit

from sync_service.config import sqlite_url
from sync_service.queue import uploads as uploads_module
from sync_service.queue.runtime import get_queue

DISK = "2m"
#: Left free for a render: its spec fits, its eight output files (a page each) do not.
ROOM_BYTES = 16 * 1024


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "small-disk"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK}", "tmpfs", str(mount)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip() or result.returncode}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path, leave: int = 0, name: str = "filler") -> Path:
    """Fill `disk` up to `leave` bytes of room; returns the filler to delete."""
    filler = disk / name
    chunk = bytes(64 * 1024)
    with filler.open("wb") as handle:
        try:
            while True:
                handle.write(chunk)
                handle.flush()
        except OSError as error:
            assert error.errno == errno.ENOSPC
    with filler.open("r+b") as handle:
        handle.truncate(max(0, filler.stat().st_size - leave))
    return filler


def app_on(make_app: Any, disk: Path, data_dir: Path, fake: FakeRenderer) -> Any:
    app = make_app(TSHIRT_DATA_DIR=str(disk), DATABASE_URL=sqlite_url(data_dir),
                   TSHIRT_BLENDER_BIN=str(fake.binary))
    queue = get_queue(app)
    queue.worker.enqueue = lambda _job_id, _delay: None
    return app


def assert_nothing_published(app: Any, job_id: str) -> None:
    root = app.extensions["tshirt"].storage.root
    job = job_of(app, job_id)
    assert job["outputs"] == [] and job["progress"] < 100
    assert not (root / "jobs" / job_id / "outputs").exists()
    assert not [p for p in (root / "jobs" / job_id).iterdir() if p.name.startswith(".staging")]
    assert not (root / "uploads" / job_id).exists()
    assert not [p for p in (root / "tmp").iterdir() if p.name.startswith("render-")]


def test_a_disk_that_fills_up_fails_the_job_cleanly_and_the_next_one_succeeds(
        small_disk, data_dir, make_app, fake_renderer) -> None:
    app = app_on(make_app, small_disk, data_dir, fake_renderer)
    worker = get_queue(app).worker
    job_id = submit(app)
    filler = fill(small_disk, leave=ROOM_BYTES)
    worker.run(job_id)
    job = job_of(app, job_id)
    assert (job["status"], job["error"]["code"]) == ("failed", "storage_full"), job
    assert job["attempts"] == 1 and "full" in job["error"]["message"]
    assert_nothing_published(app, job_id)
    # The service keeps answering: a new design is refused in JSON, not with a 500.
    rest = fill(small_disk, name="rest")
    client = app.test_client()
    assert client.get("/health").status_code in (200, 503)
    fields = {"product_id": "prod_q", "preset": "chest-medium", "color": "navy",
              "design": (io.BytesIO(png_bytes(256)), "design.png")}
    refused = client.post("/admin/render-jobs", headers=AUTH, **multipart(fields))
    assert (refused.status_code, refused.json["code"]) == (507, "storage_full"), refused.json
    filler.unlink()  # space returns
    rest.unlink()
    after = submit(app)
    worker.run(after)
    assert job_of(app, after)["status"] == "completed"


def test_a_disk_that_fills_up_before_the_outputs_are_recorded(small_disk, data_dir, make_app,
                                                             fake_renderer, monkeypatch) -> None:
    app = app_on(make_app, small_disk, data_dir, fake_renderer)
    worker = get_queue(app).worker
    job_id = submit(app)
    record = uploads_module.Uploads._send

    def fill_then_record(self: Any, pending: Any) -> None:
        fill(small_disk)
        record(self, pending)

    monkeypatch.setattr(uploads_module.Uploads, "_send", fill_then_record)
    worker.run(job_id)
    job = job_of(app, job_id)
    assert (job["status"], job["error"]["code"]) == ("failed", "storage_full"), job
    assert_nothing_published(app, job_id)


def test_a_read_only_data_dir_fails_the_job_as_unwritable(small_disk, data_dir, make_app,
                                                         fake_renderer) -> None:
    app = app_on(make_app, small_disk, data_dir, fake_renderer)
    worker = get_queue(app).worker
    job_id, after = submit(app), submit(app)
    queue = get_queue(app)
    for huey in (queue.render_huey, queue.maintenance_huey):
        huey.storage.close()  # a file open for writing keeps a mount from turning read-only
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    try:
        worker.run(job_id)
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=True)
    job = job_of(app, job_id)
    assert (job["status"], job["error"]["code"]) == ("failed", "storage_unwritable"), job
    assert_nothing_published(app, job_id)
    worker.run(after)
    assert job_of(app, after)["status"] == "completed"
