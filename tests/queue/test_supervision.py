"""`serve` supervises its queue process: one killed mid-render is restarted within seconds, its
job requeued at once and completed on the new one (SQLite queue and Redis); one that hangs is
killed and replaced while `/health` answers 503; when restarts keep failing `serve` exits 1 with
one line. Its HTTP processes are restarted when killed, end with `serve` when it is killed
with -9, and can write when they start during a write of `serve`'s own threads. The
supervisor's own rules run in-process with a stand-in command."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from common_helpers import free_port
from fake_renderer import FakeRenderer, pid_alive
from queue_helpers import http, job_of, poll, redis_url, submit, upload, wait_for, wait_http

from shared.jobs import JobStatus
from sync_service.config import Settings
from sync_service.jobs import transitions
from sync_service.models import QueueWorker
from sync_service.queue import supervisor as supervision
from sync_service.queue.runtime import get_queue
from sync_service.queue.stalls import scratch_dir

FINISHED = ("completed", "failed", "cancelled")


def _render_folders(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "tmp").glob("render-*"))


def test_exit_causes_are_named() -> None:
    assert supervision.exit_cause(0) == "exit code 0"
    assert supervision.exit_cause(3) == "exit code 3"
    assert supervision.exit_cause(-signal.SIGKILL) == "killed by SIGKILL"
    assert supervision.exit_cause(-200) == "killed by signal 200"


# -- the supervisor in-process, with a stand-in for the queue process -------------------------


def _supervisor(data_dir: Path, command: list[str], given_up: list[str],
                **overrides: Any) -> supervision.Supervisor:
    settings = Settings.load({"TSHIRT_DATA_DIR": str(data_dir), "TSHIRT_API_TOKENS": "t",
                              "DATABASE_URL": None, "REDIS_URL": None, **overrides})
    return supervision.Supervisor(settings, "box:1", command, on_give_up=given_up.append)


@pytest.fixture
def quick_restarts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(supervision, "RESTART_DELAY_S", 0.01)
    monkeypatch.setattr(supervision, "RESTART_MAX_DELAY_S", 0.05)


def test_a_queue_process_that_keeps_failing_makes_the_supervisor_give_up(
        make_app, data_dir: Path, quick_restarts: None) -> None:
    db = get_queue(make_app()).db
    given_up: list[str] = []
    supervisor = _supervisor(data_dir, [sys.executable, "-c", "raise SystemExit(3)"], given_up)
    supervisor.start()
    try:
        wait_for(lambda: given_up, 30, "the supervisor did not give up")
        time.sleep(0.3)
        assert len(supervisor.ends) == supervision.RESTART_LIMIT  # no restart after that
        assert supervisor.process is not None and supervisor.process.poll() == 3
    finally:
        supervisor.stop(timeout=5)
    assert given_up == [f"The queue process keeps ending ({supervision.RESTART_LIMIT} times in "
                        "60 s, last: exit code 3); stopping so that the service manager can "
                        "restart the service."]
    with db.session() as session:
        row = session.get(QueueWorker, "box:1")
        assert (row.kind, row.exits, row.last_exit) == ("serve", 5, "exit code 3")


def test_the_jobs_of_a_dead_queue_process_are_requeued_at_once(make_app, data_dir: Path,
                                                               quick_restarts: None) -> None:
    app = make_app()
    ext, queue = app.extensions["tshirt"], get_queue(app)
    mine, other = submit(app), submit(app)
    with ext.db.session() as session:
        transitions.transition(session, mine, JobStatus.COMPOSITING, worker_id="box:1/RUN00001",
                               attempts=1)
        transitions.transition(session, other, JobStatus.COMPOSITING,
                               worker_id="box:12/RUN00002", attempts=1)  # a prefix, not it
    left = scratch_dir(ext.storage, mine, "box:1/RUN00001")
    queued_before = queue.render_huey.pending_count()
    given_up: list[str] = []
    # Dies at once the first time, then stays up like a healthy queue process.
    marker = data_dir / "started-once"
    script = (f"import pathlib, sys, time\nm = pathlib.Path({str(marker)!r})\n"
              "if not m.exists():\n    m.touch()\n    sys.exit(1)\ntime.sleep(60)\n")
    supervisor = _supervisor(data_dir, [sys.executable, "-c", script], given_up)
    supervisor.start()
    try:
        wait_for(lambda: len(supervisor.ends) == 1 and supervisor.process is not None
                 and supervisor.process.poll() is None, 20, "not restarted")
        job = job_of(app, mine)
        assert job["status"] == "pending" and job["error"]["code"] == "worker_lost"
        assert "exit code 1" in job["error"]["message"]
        assert job_of(app, other)["status"] == "compositing"
        assert queue.render_huey.pending_count() == queued_before + 1
        assert not left.exists()
    finally:
        assert supervisor.stop(timeout=10) == -signal.SIGTERM
    assert given_up == []


def test_a_queue_process_that_never_beats_is_killed_and_replaced(
        make_app, data_dir: Path, quick_restarts: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(supervision, "STARTUP_LIMIT_S", 0.5)
    make_app()
    given_up: list[str] = []
    supervisor = _supervisor(data_dir, [sys.executable, "-c", "import time; time.sleep(60)"],
                             given_up, TSHIRT_HEARTBEAT_S=0.1, TSHIRT_STALL_AFTER_S=0.5,
                             TSHIRT_STALL_CHECK_S=0.1)
    supervisor.start()
    try:
        first = wait_for(lambda: supervisor.process, 10, "not started")
        wait_for(lambda: supervisor.ends, 20, "the silent process was not killed")
        assert first.returncode == -signal.SIGKILL
        wait_for(lambda: supervisor.process is not first, 10, "not replaced")
    finally:
        supervisor.stop(timeout=10)


# -- serve on loopback -----------------------------------------------------------------------


def _consumer(base: str, other_than: int | None = None, *, beating: bool = True
              ) -> dict[str, Any]:
    """The queue process of `serve` as /health lists it (a new one after a restart); with
    `beating`, once it runs: its `last_seen` moved since its supervisor registered its start."""
    first_seen: dict[int, str] = {}

    def find() -> dict[str, Any] | None:
        health = http("GET", f"{base}/health").json()
        found = next((w for w in health["workers"] if w["kind"] == "serve" and w["alive"]
                      and w["pid"] != other_than), None)
        if found is None:
            return None
        seen = first_seen.setdefault(found["pid"], found["last_seen"])
        return found if not beating or found["last_seen"] != seen else None

    return wait_for(find, 60, "no live queue process")


def _serve(spawn: Any, tmp_path: Path, fake: FakeRenderer, **env: str) -> tuple[str, Any, Path]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data = tmp_path / "data"
    server = spawn("serve", ["serve", "--port", str(port), "--workers", "1"],
                   TSHIRT_DATA_DIR=str(data), TSHIRT_BLENDER_BIN=str(fake.binary), **env)
    wait_http(base, server)
    return base, server, data


@pytest.mark.parametrize("broker", ["sqlite", "redis"])
def test_a_consumer_killed_mid_render_is_restarted_and_every_job_completes(
        spawn, tmp_path: Path, fake_renderer: FakeRenderer, broker: str) -> None:
    env = {"REDIS_URL": redis_url()} if broker == "redis" else {}
    fake_renderer.set("ok", event_delay_s=0.4)  # about 4 s a render
    base, server, data = _serve(spawn, tmp_path, fake_renderer, **env)
    consumer = _consumer(base)
    job = upload(base)
    poll(base, job["id"], lambda j: j["status"] == "rendering", timeout=60)
    blender = fake_renderer.wait_started()["pid"]
    os.kill(consumer["pid"], signal.SIGKILL)
    killed_at = time.monotonic()
    later = upload(base)  # while no queue process runs
    wait_for(lambda: not pid_alive(blender), 5, "Blender outlived its queue process")
    # Requeued at once, not after the stall limit (15 s).
    poll(base, job["id"], lambda j: j["status"] == "pending" or j["attempts"] == 2, timeout=10)
    restarted = _consumer(base, other_than=consumer["pid"])
    assert restarted["exits"] == 1 and restarted["last_exit"] == "killed by SIGKILL"
    done = poll(base, job["id"], lambda j: j["status"] in FINISHED, timeout=60)
    assert (done["status"], done["attempts"]) == ("completed", 2), done
    after = poll(base, later["id"], lambda j: j["status"] in FINISHED, timeout=60)
    assert (after["status"], after["attempts"]) == ("completed", 1), after
    assert time.monotonic() - killed_at < 60
    assert "ended: killed by SIGKILL; 1 job(s) requeued" in server.output()
    health = http("GET", f"{base}/health")
    assert health.status_code == 200 and health.json()["consumer"] == "ok"
    assert _render_folders(data) == []


def test_health_is_503_while_no_consumer_can_run_and_a_hung_one_is_replaced(
        spawn, tmp_path: Path, fake_renderer: FakeRenderer) -> None:
    base, server, _data = _serve(spawn, tmp_path, fake_renderer, TSHIRT_HEARTBEAT_S="0.2",
                                 TSHIRT_STALL_AFTER_S="3", TSHIRT_STALL_CHECK_S="0.5")
    consumer = _consumer(base)
    os.kill(consumer["pid"], signal.SIGSTOP)  # alive, but it can run nothing
    try:
        # (A 503 response is falsy: wait for its body.)
        down = wait_for(lambda: (r := http("GET", f"{base}/health")).status_code == 503
                        and r.json(), 15, "health stayed 200 with a frozen queue process")
        assert down["status"] == "unhealthy" and down["consumer"] == "down"
        job = upload(base)
        replaced = _consumer(base, other_than=consumer["pid"])
        assert replaced["last_exit"] == "killed by SIGKILL"
    finally:
        if pid_alive(consumer["pid"]):
            os.kill(consumer["pid"], signal.SIGKILL)
    assert http("GET", f"{base}/health").status_code == 200
    done = poll(base, job["id"], lambda j: j["status"] in FINISHED, timeout=60)
    assert done["status"] == "completed", done
    assert "sent no heartbeat" in server.output()


def test_serve_exits_1_with_one_line_when_restarts_keep_failing(
        spawn, tmp_path: Path, fake_renderer: FakeRenderer) -> None:
    base, server, _data = _serve(spawn, tmp_path, fake_renderer)
    pid = None
    for _ in range(supervision.RESTART_LIMIT):
        pid = _consumer(base, other_than=pid, beating=False)["pid"]
        os.kill(pid, signal.SIGKILL)
    assert server.process.wait(60) == 1
    last = server.output().strip().splitlines()[-1]
    assert last == (f"tshirt-service: The queue process keeps ending "
                    f"({supervision.RESTART_LIMIT} times in 60 s, last: killed by SIGKILL); "
                    "stopping so that the service manager can restart the service.")


def _children(pid: int) -> list[tuple[int, str]]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1]
                                            .split()[1]) == pid:
                found.append((int(entry.name),
                              (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()))
        except OSError:
            continue
    return found


def _http_processes(pid: int) -> list[int]:
    """Granian's HTTP processes, which multiprocessing spawns (beside its resource tracker)."""
    return [child for child, cmd in _children(pid) if "spawn_main" in cmd]


def test_an_http_process_killed_is_restarted(spawn, tmp_path: Path,
                                             fake_renderer: FakeRenderer) -> None:
    base, server, _data = _serve(spawn, tmp_path, fake_renderer)
    [http_pid] = _http_processes(server.process.pid)
    os.kill(http_pid, signal.SIGKILL)
    wait_for(lambda: any(pid != http_pid for pid in _http_processes(server.process.pid)), 20,
             "not restarted")
    wait_http(base, server)
    assert server.process.poll() is None


def test_serve_killed_with_9_leaves_no_http_process_behind(spawn, tmp_path: Path,
                                                           fake_renderer: FakeRenderer) -> None:
    base, server, _data = _serve(spawn, tmp_path, fake_renderer)
    http_pids = _http_processes(server.process.pid)
    server.process.kill()
    server.process.wait(5)
    wait_for(lambda: not any(pid_alive(pid) for pid in http_pids), 10,
             "an HTTP process outlived serve")
    with pytest.raises(requests.ConnectionError):  # nothing holds its port
        http("GET", f"{base}/health", timeout=2)


#: `serve`, with its own process holding the database's write lock for 3 s from just before
#: Granian starts the HTTP processes (as a supervisor thread's write can).
SERVE_WHILE_WRITING = """
import sqlite3, sys, threading
from sync_service import cli
from sync_service.config import Settings

def serve_while_writing(args):
    path = Settings.load().database_url.removeprefix("sqlite:///")
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    threading.Timer(3, holder.execute, ["COMMIT"]).start()
    serve(args)

serve, cli._serve_http = cli._serve_http, serve_while_writing
sys.exit(cli.main(sys.argv[1:]))
"""


def test_http_processes_started_during_a_write_of_serve_can_write(spawn: Any,
                                                                    tmp_path: Path) -> None:
    """The supervisor's threads write to the database (the queue process's row) while Granian
    starts the HTTP processes. A forked one inherited SQLite's lock bookkeeping from that
    moment and answered every POST of its life with 503 'database is locked' (seen on CI);
    spawned ones wait for the lock like any other writer."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = spawn("serve", ["serve", "--port", str(port)], program=("-c", SERVE_WHILE_WRITING),
                   TSHIRT_DATA_DIR=str(tmp_path / "data"), TSHIRT_RENDER_WORKERS="0")
    wait_http(base, server)
    assert upload(base)["status"] == "pending"
