"""`tshirt-service` commands: db upgrade, create-token, cleanup, serve."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from common_helpers import free_port
from sqlalchemy import create_engine

from sync_service.config import sqlite_url
from sync_service.migrate import current_revision, head_revision

REPO = Path(__file__).resolve().parents[2]


def test_db_upgrade_creates_and_seeds(runner, tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    code, out, _err = runner("db", "upgrade", env={"TSHIRT_DATA_DIR": str(fresh)})
    assert code == 0 and f"revision {head_revision()}" in out
    engine = create_engine(sqlite_url(fresh))
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()
    code, _out, _err = runner("db", "upgrade", env={"TSHIRT_DATA_DIR": str(fresh)})
    assert code == 0  # idempotent


def test_create_token(runner) -> None:
    code, out, err = runner("create-token")
    first = out.strip()
    assert code == 0 and first.startswith("tst_") and len(first) > 40
    assert "TSHIRT_API_TOKENS" in err
    assert runner("create-token")[1].strip() != first


def test_cleanup_lists_orphans_and_keeps_jobs(runner, create_job, data_dir: Path) -> None:
    kept = create_job().json["id"]
    orphan = data_dir / "jobs" / "rjob_01ARZ3NDEKTSV4RRFFQ69G5FAV"
    orphan.mkdir()
    (orphan / "design.png").write_bytes(b"x")
    old = time.time() - 2 * 3600  # orphans younger than an hour may be jobs being created
    os.utime(orphan, (old, old))
    code, out, _err = runner("cleanup", "--dry-run")
    assert code == 0
    assert "would delete jobs/rjob_01ARZ3NDEKTSV4RRFFQ69G5FAV" in out and kept not in out
    assert orphan.exists()
    code, out, _err = runner("cleanup")
    assert code == 0 and not orphan.exists() and (data_dir / "jobs" / kept).is_dir()


def test_serve_refuses_to_start_without_a_token(runner) -> None:
    code, _out, err = runner("serve", "--port", "1")
    assert code != 0 and "TSHIRT_API_TOKENS" in err


def test_serve_on_a_taken_port_says_so_in_one_line(runner) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _out, err = runner("serve", "--port", str(port), "--no-migrate",
                                 env={"TSHIRT_API_TOKENS": "serve-token"})
    assert code != 0
    assert err.strip().splitlines() == [f"tshirt-service: Cannot listen on 127.0.0.1:{port}: "
                                        "Address already in use."]


def test_serve_runs_under_granian(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "TSHIRT_DATA_DIR": str(tmp_path / "data"),
           "TSHIRT_API_TOKENS": "serve-token", "PYTHONPATH": str(REPO)}
    env.pop("DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "sync_service.cli", "serve", "--port", str(port),
         "--threads", "2"], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", "/health")
                response = connection.getresponse()
                body = json.loads(response.read())
                connection.close()
                break
            except OSError:
                assert process.poll() is None, process.stdout.read().decode()  # type: ignore
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
        assert response.status == 200 and body["database"] == "ok"
        assert response.getheader("Content-Type") == "application/json"
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", "/admin/render-templates",
                           headers={"Authorization": "Bearer serve-token"})
        templates = json.loads(connection.getresponse().read())
        connection.close()
        assert "classic-tee" in {t["id"] for t in templates["items"]}
    finally:
        process.terminate()
        process.wait(10)
        assert process.stdout is not None
        process.stdout.close()
