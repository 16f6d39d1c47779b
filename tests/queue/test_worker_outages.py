"""Render machines ride out outages (issue 20.1, 20.2): a finished render is never thrown away
because the service is away, and attempts count render failures only.

Real processes on loopback as in README's "Many machines": a service on PostgreSQL and Redis
with no render threads of its own, two remote workers with data directories of their own; and
the worker's own logic in-process for what is hard to time with processes.

`TSHIRT_TEST_OUTAGE_S` (default 90, the issue's outage) is how long the service stays down:
longer than the stall limit the test sets and than the old 7 s upload retry budget; a shorter
one (say 15) proves the same point faster while working on this file.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from common_helpers import free_port
from fake_renderer import FakeRenderer
from queue_helpers import (
    AUTH,
    TOKEN,
    Proc,
    http,
    job_of,
    poll,
    redis_url,
    submit,
    upload,
    wait_for,
    wait_http,
)
from sqlalchemy import select

from shared.jobs import JobStatus
from sync_service.db import Database
from sync_service.jobs import transitions
from sync_service.models import RenderJob
from sync_service.queue import uploads as uploads_module
from sync_service.queue.remote import ServiceAway
from sync_service.queue.runtime import get_queue

OUTAGE_S = float(os.environ.get("TSHIRT_TEST_OUTAGE_S", "90"))
#: Short enough that a job whose heartbeat stopped during the outage would be requeued.
STALL_AFTER_S = "10"
FAST = {"TSHIRT_HEARTBEAT_S": "0.5", "TSHIRT_STALL_AFTER_S": STALL_AFTER_S,
        "TSHIRT_STALL_CHECK_S": "1", "TSHIRT_UPLOAD_RETRY_DELAY_S": "0.5",
        "TSHIRT_UPLOAD_MAX_DELAY_S": "2"}


def rows(db: Database) -> dict[str, Any]:
    with db.session() as session:
        return {row.id: row for row in session.execute(
            select(RenderJob.id, RenderJob.status, RenderJob.stage, RenderJob.attempts,
                   RenderJob.worker_id))}


def test_a_service_outage_loses_no_finished_render_and_spends_no_attempt(
        postgres_database_url: str, spawn: Callable[..., Proc], tmp_path: Path,
        fake_renderer: FakeRenderer) -> None:
    # (The database is asked for first, so that it outlives the processes at teardown.)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    service_env = {"TSHIRT_DATA_DIR": str(tmp_path / "service-data"), "REDIS_URL": redis_url(),
                   "DATABASE_URL": postgres_database_url, "TSHIRT_RENDER_WORKERS": "0", **FAST}
    serve_args = ["serve", "--port", str(port), "--workers", "1"]
    server = spawn("serve", serve_args, **service_env)
    wait_http(base, server)

    def worker_env(name: str) -> dict[str, str]:
        return {"REDIS_URL": service_env["REDIS_URL"], "DATABASE_URL": postgres_database_url,
                "TSHIRT_SERVICE_URL": base, "TSHIRT_SERVICE_TOKEN": TOKEN,
                "TSHIRT_API_TOKENS": "", "TSHIRT_DATA_DIR": str(tmp_path / f"{name}-data"),
                "TSHIRT_WORKER_NAME": name, "TSHIRT_BLENDER_BIN": str(fake_renderer.binary),
                **FAST}

    def started(worker: Proc) -> None:
        wait_for(lambda: "render thread(s)" in worker.output()
                 or worker.process.poll() is not None, 60, "the worker did not start")
        assert worker.process.poll() is None, worker.output()

    workers = {name: spawn(name, ["worker"], **worker_env(name)) for name in ("box-a", "box-b")}
    for worker in workers.values():
        started(worker)
    fake_renderer.set("ok", event_delay_s=0.4)  # about 4 s a render
    jobs = [upload(base)["id"] for _ in range(3)]
    fake_renderer.wait_started(2, timeout=30)

    # The service goes away while both renders are under way; the database and Redis stay.
    server.stop()
    down_at = time.monotonic()
    db = Database(postgres_database_url, pool_size=1)
    try:
        waiting = wait_for(lambda: [r for r in rows(db).values()
                                    if r.stage == "waiting_for_service"]
                           if len([r for r in rows(db).values()
                                   if r.stage == "waiting_for_service"]) == 2 else None,
                           30, f"the renders did not wait for the service: {rows(db)}")
        # One render machine restarts meanwhile: it finds its finished render and goes on.
        restarted = next(r for r in waiting if r.worker_id.startswith("box-a/"))
        workers["box-a"].stop(signal.SIGKILL)
        workers["box-a"] = spawn("box-a-again", ["worker"], **worker_env("box-a"))
        wait_for(lambda: "finished before a restart" in workers["box-a"].output(), 30,
                 workers["box-a"].output())
        while time.monotonic() - down_at < OUTAGE_S:
            now = rows(db)
            assert [now[j].status for j in jobs].count("rendering") == 2, now
            assert all(now[j].attempts <= 1 for j in jobs), now
            queued = [now[j] for j in jobs if now[j].status == "pending"]
            assert len(queued) == 1 and queued[0].attempts == 0, now  # nobody took it
            time.sleep(0.5)
    finally:
        db.dispose()
    assert len(fake_renderer.runs()) == 2

    server = spawn("serve-again", serve_args, **service_env)
    wait_http(base, server)
    done = [poll(base, job_id, lambda j: j["status"] in ("completed", "failed"), timeout=60)
            for job_id in jobs]
    assert [(j["status"], j["attempts"]) for j in done] == [("completed", 1)] * 3, done
    assert len(fake_renderer.runs()) == 3  # no render was done twice
    assert next(j for j in done if j["id"] == restarted.id)["worker_id"] == restarted.worker_id
    for job in done:
        image = http("GET", f"{base}{job['outputs'][0]['url']}", headers=AUTH)
        assert image.status_code == 200
    for name, worker in workers.items():
        assert "Traceback" not in worker.output(), worker.output()
        assert not any((tmp_path / f"{name.removesuffix('-again')}-data" / "uploads").iterdir())


# -- in-process: the worker's own logic --------------------------------------------------------


def remote_app(make_app: Any, fake: FakeRenderer, **config: Any) -> Any:
    """A worker whose service is a port nothing listens on."""
    app = make_app(TSHIRT_BLENDER_BIN=str(fake.binary),
                   TSHIRT_SERVICE_URL=f"http://127.0.0.1:{free_port()}",
                   TSHIRT_UPLOAD_RETRY_DELAY_S=0.05, TSHIRT_UPLOAD_MAX_DELAY_S=0.1, **config)
    queue = get_queue(app)
    queue.enqueued = []
    queue.worker.enqueue = lambda job_id, delay: queue.enqueued.append((job_id, delay))
    return app


def test_an_unreachable_service_gives_the_job_back_uncounted_and_takes_no_more(
        make_app, fake_renderer) -> None:
    app = remote_app(make_app, fake_renderer)
    worker = get_queue(app).worker
    first, second = submit(app), submit(app)
    worker.run(first)  # the design cannot be fetched
    job = job_of(app, first)
    assert (job["status"], job["attempts"], job["stage"]) == ("pending", 0,
                                                                "waiting_for_service")
    assert job["error"]["code"] == "service_unreachable"
    worker.run(second)  # the gate is closed: handed back untouched
    assert job_of(app, second)["attempts"] == 0 and job_of(app, second)["status"] == "pending"
    assert get_queue(app).enqueued == [(first, 0), (second, 0)]
    assert fake_renderer.runs() == []


def test_a_finished_render_waits_for_the_service_then_completes_with_one_attempt(
        make_app, fake_renderer, monkeypatch) -> None:
    """Shared data directory: delivery is recording into it; the database 'away' twice."""
    app = make_app(TSHIRT_BLENDER_BIN=str(fake_renderer.binary),
                   TSHIRT_UPLOAD_RETRY_DELAY_S=0.05, TSHIRT_UPLOAD_MAX_DELAY_S=0.1)
    worker = get_queue(app).worker
    job_id = submit(app)
    send = uploads_module.Uploads._send
    failures = iter([ServiceAway("The service is away."), ServiceAway("Still away.")])
    stages: list[str] = []

    def flaky(self: Any, pending: Any) -> None:
        stages.append(job_of(app, job_id)["stage"])
        error = next(failures, None)
        if error is not None:
            assert (worker.storage.root / "uploads" / job_id / "manifest.json").is_file()
            raise error
        send(self, pending)

    monkeypatch.setattr(uploads_module.Uploads, "_send", flaky)
    worker.run(job_id)
    job = job_of(app, job_id)
    assert (job["status"], job["attempts"], job["progress"]) == ("completed", 1, 100)
    assert stages[1:] == ["waiting_for_service"] * 2
    assert not (worker.storage.root / "uploads" / job_id).exists()
    assert len(fake_renderer.runs()) == 1


@pytest.mark.parametrize("requeued", [False, True], ids=["held", "requeued-while-down"])
def test_a_worker_restarted_with_a_pending_upload_delivers_it_first(make_app, fake_renderer,
                                                                      monkeypatch,
                                                                      requeued) -> None:
    """Restarted within the stall limit, the job is still its own; after it, the stall check
    requeued the job, and the worker takes it back (nobody else did) instead of a new render."""
    app = make_app(TSHIRT_BLENDER_BIN=str(fake_renderer.binary),
                   TSHIRT_UPLOAD_RETRY_DELAY_S=0.05, TSHIRT_UPLOAD_MAX_DELAY_S=0.1)
    worker = get_queue(app).worker
    job_id = submit(app)

    def away(_self: Any, _pending: Any) -> None:
        worker.shutdown(wait_s=0)  # the worker stops while the service is away
        raise ServiceAway("The service is away.")

    monkeypatch.setattr(uploads_module.Uploads, "_send", away)
    worker.run(job_id)
    assert job_of(app, job_id)["status"] == "rendering"
    assert (worker.storage.root / "uploads" / job_id / "pending.json").is_file()
    if requeued:
        with app.extensions["tshirt"].db.session() as session:
            transitions.transition(session, job_id, JobStatus.PENDING, stage="requeued",
                                   error_code="worker_lost", worker_id=None)
    monkeypatch.undo()
    restarted = make_app(TSHIRT_BLENDER_BIN=str(fake_renderer.binary))  # same data directory
    get_queue(restarted).worker.resume_uploads(lambda: False)
    job = job_of(app, job_id)
    assert (job["status"], job["attempts"]) == ("completed", 1)
    assert len(fake_renderer.runs()) == 1
    assert not (worker.storage.root / "uploads" / job_id).exists()


def test_a_pending_upload_of_a_job_taken_over_meanwhile_is_dropped(make_app,
                                                                    fake_renderer) -> None:
    app = make_app(TSHIRT_BLENDER_BIN=str(fake_renderer.binary))
    worker = get_queue(app).worker
    job_id = submit(app)
    out = worker.storage.root / "tmp" / "finished"
    out.mkdir(parents=True)
    (out / "manifest.json").write_text("{}")
    worker.uploads.keep(job_id, "gone-host:1/abc", out, None)  # a run that no longer holds it
    worker.resume_uploads(lambda: False)
    assert not (worker.storage.root / "uploads" / job_id).exists()
    assert job_of(app, job_id)["status"] == "pending"


def test_a_delivery_that_waited_too_long_gives_the_job_back(make_app, fake_renderer,
                                                            monkeypatch) -> None:
    app = make_app(TSHIRT_BLENDER_BIN=str(fake_renderer.binary), TSHIRT_UPLOAD_RETRY_FOR_S=0)
    queue = get_queue(app)
    queue.enqueued = []
    queue.worker.enqueue = lambda job_id, delay: queue.enqueued.append((job_id, delay))
    job_id = submit(app)

    def away(_self: Any, _pending: Any) -> None:
        raise ServiceAway("The service is away.")

    monkeypatch.setattr(uploads_module.Uploads, "_send", away)
    queue.worker.run(job_id)
    job = job_of(app, job_id)
    assert (job["status"], job["attempts"]) == ("pending", 0)
    assert job["error"]["code"] == "service_unreachable" and queue.enqueued == [(job_id, 0)]
    assert not (queue.worker.storage.root / "uploads" / job_id).exists()
