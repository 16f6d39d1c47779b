"""The worker's own logic with a fake Blender: outcomes, retries, time limit, cancel, stalls."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fake_renderer import FakeRenderer, pid_alive
from queue_helpers import AUTH, job_of, png_bytes, submit, wait_for
from sqlalchemy import event, update

from shared.colors import parse_color
from shared.jobs import JobStatus
from sync_service.jobs import transitions
from sync_service.models import RenderJob
from sync_service.queue.runtime import get_queue


def worker_app(make_app: Any, fake: FakeRenderer, **config: Any) -> Any:
    app = make_app(TSHIRT_BLENDER_BIN=str(fake.binary), **config)
    queue = get_queue(app)
    queue.enqueued = []
    queue.worker.enqueue = lambda job_id, delay: queue.enqueued.append((job_id, delay))
    return app


def tmp_entries(app: Any) -> list[str]:
    return sorted(p.name for p in (app.extensions["tshirt"].storage.root / "tmp").iterdir())


def test_success_records_verified_outputs_and_calls_completed(make_app, fake_renderer) -> None:
    app = worker_app(make_app, fake_renderer)
    completed: list[str] = []
    app.extensions["tshirt"].completed = completed.append
    job_id = submit(app)
    get_queue(app).worker.run(job_id)
    job = job_of(app, job_id)
    assert (job["status"], job["progress"], job["attempts"]) == ("completed", 100, 1)
    assert sorted(o["kind"] for o in job["outputs"]) == ["animation"] + ["still"] * 6
    assert job["media_sync_status"] == "not_configured" and job["error"] is None
    assert completed == [job_id]
    folder = app.extensions["tshirt"].storage.root / "jobs" / job_id / "outputs"
    assert (folder / "manifest.json").is_file() and (folder / "front_0deg.png").is_file()
    assert tmp_entries(app) == []
    run = fake_renderer.runs()[0]
    assert run["spec"]["job_id"] == job_id and "--json" in run["argv"]


def test_the_child_gets_only_the_spec_file_and_a_minimal_environment(make_app,
                                                                     fake_renderer) -> None:
    app = worker_app(make_app, fake_renderer, TSHIRT_RENDER_OVERRIDES={"turntable_method": "path",
                                                                       "resolution": 64})
    job_id = submit(app, animation="false", background="studio")
    worker = get_queue(app).worker
    worker.run(job_id)
    run = fake_renderer.runs()[0]
    # What to render travels only in the spec; the command line holds run options.
    assert run["argv"][0] == "--spec" and run["argv"][2:] == ["--json", "--turntable-method",
                                                              "path"]
    spec = run["spec"]
    assert spec["animation"]["enabled"] is False and spec["background"] == "studio"
    assert spec["resolution"] == 64 and spec["job_id"] == job_id
    assert [p["preset"] for p in spec["prints"]] == ["chest-medium"]
    assert spec["color"] == parse_color("navy").hex
    from sync_service.queue.runner import child_environment

    env = child_environment()
    assert not any(key.startswith(("TSHIRT_", "DATABASE", "REDIS")) for key in env)


def test_bad_input_fails_at_once_without_retry(make_app, fake_renderer) -> None:
    fake_renderer.set("exit", exit_code=5, message="The design image is damaged.")
    app = worker_app(make_app, fake_renderer)
    job_id = submit(app)
    get_queue(app).worker.run(job_id)
    job = job_of(app, job_id)
    assert job["status"] == "failed" and job["attempts"] == 1
    assert job["error"] == {"code": "corrupt_image", "message": "The design image is damaged."}
    assert get_queue(app).enqueued == [] and len(fake_renderer.runs()) == 1


def test_crash_is_retried_with_back_off_then_fails_with_code_and_message(make_app,
                                                                        fake_renderer) -> None:
    fake_renderer.set("exit", exit_code=20, message="Cycles ran out of memory.")
    app = worker_app(make_app, fake_renderer, TSHIRT_RETRY_DELAY_S=10, TSHIRT_MAX_ATTEMPTS=3)
    queue = get_queue(app)
    job_id = submit(app)
    for attempt in (1, 2):
        queue.worker.run(job_id)
        job = job_of(app, job_id)
        assert (job["status"], job["attempts"]) == ("pending", attempt)
        assert job["error"]["code"] == "render_failed"
    assert queue.enqueued == [(job_id, 10), (job_id, 20)]
    queue.worker.run(job_id)
    job = job_of(app, job_id)
    assert (job["status"], job["attempts"]) == ("failed", 3)
    assert job["error"] == {"code": "render_failed", "message": "Cycles ran out of memory."}
    assert len(queue.enqueued) == 2


def test_a_killed_blender_is_a_crash_and_is_retried(make_app, fake_renderer) -> None:
    fake_renderer.set("kill", "ok")
    app = worker_app(make_app, fake_renderer)
    queue = get_queue(app)
    job_id = submit(app)
    queue.worker.run(job_id)
    job = job_of(app, job_id)
    assert job["status"] == "pending" and job["error"]["code"] == "render_crashed"
    queue.worker.run(job_id)
    job = job_of(app, job_id)
    assert (job["status"], job["attempts"], job["error"]) == ("completed", 2, None)


def test_time_limit_kills_the_whole_process_group(make_app, fake_renderer) -> None:
    fake_renderer.set("spawn", sleep_s=60, ignore_term=True)
    app = worker_app(make_app, fake_renderer, TSHIRT_RENDER_TIMEOUT_S=1.0,
                     TSHIRT_MAX_ATTEMPTS=1)
    job_id = submit(app)
    started = time.monotonic()
    get_queue(app).worker.run(job_id)
    assert time.monotonic() - started < 1.0 + 3.0 + 2.0  # limit + SIGTERM grace + slack
    pid = fake_renderer.runs()[0]["pid"]
    grandchild = int((fake_renderer.folder / "grandchild.pid").read_text())
    assert not pid_alive(pid) and not pid_alive(grandchild)
    job = job_of(app, job_id)
    assert job["status"] == "failed" and job["error"]["code"] == "render_timeout"
    assert tmp_entries(app) == []


def test_cancel_stops_a_running_render_within_5_s(make_app, fake_renderer) -> None:
    fake_renderer.set("spawn", sleep_s=60)
    app = worker_app(make_app, fake_renderer, TSHIRT_HEARTBEAT_S=0.5)
    job_id = submit(app)
    thread = threading.Thread(target=get_queue(app).worker.run, args=(job_id,))
    thread.start()
    pid = fake_renderer.wait_started()["pid"]
    grandchild = int(wait_for(lambda: (fake_renderer.folder / "grandchild.pid").exists()
                              and (fake_renderer.folder / "grandchild.pid").read_text(),
                              5, "no grandchild"))
    wait_for(lambda: job_of(app, job_id)["status"] == "compositing", 5, "not claimed")
    cancelled_at = time.monotonic()
    response = app.test_client().post(f"/admin/render-jobs/{job_id}/cancel", headers=AUTH)
    assert response.status_code == 200 and response.json["status"] == "cancelled"
    thread.join(10)
    assert not thread.is_alive()
    wait_for(lambda: not pid_alive(pid) and not pid_alive(grandchild), 5, "Blender lives")
    assert time.monotonic() - cancelled_at < 5.0
    job = job_of(app, job_id)
    assert job["status"] == "cancelled" and job["outputs"] == []
    assert tmp_entries(app) == []
    assert not (app.extensions["tshirt"].storage.root / "jobs" / job_id / "outputs").exists()


def test_a_cancelled_pending_job_never_starts(make_app, fake_renderer) -> None:
    app = worker_app(make_app, fake_renderer)
    queue = get_queue(app)
    job_id = submit(app)  # enqueued by the API into the SQLite queue
    assert queue.render_huey.pending_count() == 1
    app.test_client().post(f"/admin/render-jobs/{job_id}/cancel", headers=AUTH)
    task = queue.render_huey.dequeue()
    assert queue.render_huey.is_revoked(task)
    queue.render_huey.execute(task)
    queue.worker.run(job_id)  # even a stray task finds the job no longer pending
    assert fake_renderer.runs() == [] and job_of(app, job_id)["status"] == "cancelled"


def test_progress_writes_are_throttled(make_app, fake_renderer) -> None:
    fake_renderer.set("ok", event_delay_s=0.004)
    app = worker_app(make_app, fake_renderer, TSHIRT_HEARTBEAT_S=0.25,
                     TSHIRT_RENDER_OVERRIDES={"frames": 300})
    job_id = submit(app)
    writes: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        if statement.startswith("UPDATE render_jobs"):
            writes.append(statement)

    engine = app.extensions["tshirt"].db.engine
    event.listen(engine, "before_cursor_execute", count)
    started = time.monotonic()
    try:
        get_queue(app).worker.run(job_id)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    seconds = time.monotonic() - started
    assert job_of(app, job_id)["status"] == "completed"
    # 306 events; writes: claim, rendering, completed, plus one per heartbeat interval.
    assert len(writes) <= 6 + seconds / 0.25, (len(writes), seconds)


def _record_stall_requeues(queue: Any) -> None:
    """Jobs the stall check requeues land in `queue.enqueued` (after the test's submits)."""
    queue.enqueue_in = queue.worker.enqueue


def _age_heartbeat(app: Any, job_id: str, seconds: float, **values: Any) -> None:
    with app.extensions["tshirt"].db.session() as session:
        session.execute(update(RenderJob).where(RenderJob.id == job_id).values(
            heartbeat_at=datetime.now(UTC) - timedelta(seconds=seconds), **values))
        session.commit()


def test_stalled_jobs_are_requeued_then_failed_after_the_attempt_limit(make_app,
                                                                       fake_renderer) -> None:
    app = worker_app(make_app, fake_renderer, TSHIRT_STALL_AFTER_S=60, TSHIRT_MAX_ATTEMPTS=2)
    queue = get_queue(app)
    ext = app.extensions["tshirt"]
    stalled, fresh = submit(app), submit(app)
    addon = submit(app, source="blender")  # rendering on an artist's machine: never stalls
    with ext.db.session() as session:
        for job_id in (stalled, fresh):
            transitions.transition(session, job_id, JobStatus.COMPOSITING, attempts=1,
                                    worker_id="dead-host:1/x")
    _record_stall_requeues(queue)
    _age_heartbeat(app, stalled, 300)
    _age_heartbeat(app, fresh, 5)
    _age_heartbeat(app, addon, 3600)
    assert queue.check_stalls() == [stalled]
    job = job_of(app, stalled)
    assert job["status"] == "pending" and job["error"]["code"] == "worker_lost"
    assert queue.enqueued == [(stalled, 0)]
    assert job_of(app, fresh)["status"] == "compositing"
    assert job_of(app, addon)["status"] == "rendering"
    # Second attempt stalls too: the limit is reached, the job fails.
    with ext.db.session() as session:
        transitions.transition(session, stalled, JobStatus.COMPOSITING, attempts=2)
    _age_heartbeat(app, stalled, 300)
    assert queue.check_stalls() == []
    job = job_of(app, stalled)
    assert job["status"] == "failed" and job["error"]["code"] == "worker_lost"


def test_a_run_that_lost_its_job_to_the_stall_check_stops(make_app, fake_renderer) -> None:
    fake_renderer.set("sleep", sleep_s=60)
    app = worker_app(make_app, fake_renderer, TSHIRT_HEARTBEAT_S=0.2)
    queue = get_queue(app)
    job_id = submit(app)
    thread = threading.Thread(target=queue.worker.run, args=(job_id,))
    thread.start()
    pid = fake_renderer.wait_started()["pid"]
    with app.extensions["tshirt"].db.session() as session:  # what another process's check does
        transitions.transition(session, job_id, JobStatus.PENDING, worker_id=None)
    thread.join(10)
    assert not thread.is_alive() and not pid_alive(pid)
    assert job_of(app, job_id)["status"] == "pending"  # left for the requeued task


def test_health_reports_the_queue(make_app) -> None:
    app = make_app()
    body = app.test_client().get("/health").json
    assert body["queue"] == "ok"


def test_corrupt_design_from_a_shared_design_store_fails_once(make_app, fake_renderer) -> None:
    """The design vanished from disk between upload and render: bad input, not retried."""
    app = worker_app(make_app, fake_renderer)
    job_id = submit(app, design=png_bytes())
    ext = app.extensions["tshirt"]
    with ext.db.session() as session:
        ext.storage.path(session.get(RenderJob, job_id).design_path).unlink()
    get_queue(app).worker.run(job_id)
    job = job_of(app, job_id)
    assert job["status"] == "failed" and job["error"]["code"] == "design_missing"
    assert fake_renderer.runs() == []


@pytest.mark.parametrize("overrides", ['{"resolution": 64', '{"bogus": 1}'])
def test_bad_render_overrides_are_refused(make_app, fake_renderer, overrides) -> None:
    from sync_service.config import ConfigError

    if overrides.endswith("}") and "bogus" in overrides:
        app = worker_app(make_app, fake_renderer, TSHIRT_RENDER_OVERRIDES=overrides)
        job_id = submit(app)
        get_queue(app).worker.run(job_id)
        assert job_of(app, job_id)["error"]["code"] == "invalid_input"
    else:
        with pytest.raises(ConfigError):
            make_app(TSHIRT_RENDER_OVERRIDES=overrides)


def test_shutdown_stops_renders_and_requeues_without_counting_the_attempt(make_app,
                                                                         fake_renderer) -> None:
    fake_renderer.set("sleep", sleep_s=60)
    app = worker_app(make_app, fake_renderer)
    queue = get_queue(app)
    job_id = submit(app)
    thread = threading.Thread(target=queue.worker.run, args=(job_id,))
    thread.start()
    pid = fake_renderer.wait_started()["pid"]
    wait_for(lambda: job_of(app, job_id)["status"] == "compositing", 5, "not claimed")
    queue.worker.shutdown(wait_s=10)
    thread.join(5)
    assert not thread.is_alive() and not pid_alive(pid)
    job = job_of(app, job_id)
    assert (job["status"], job["attempts"]) == ("pending", 0)
    assert queue.enqueued == [(job_id, 0)]


def test_worker_claims_renders_and_detects_stalls_on_postgresql(make_app, fake_renderer,
                                                                postgres_database_url) -> None:
    app = worker_app(make_app, fake_renderer, DATABASE_URL=postgres_database_url,
                     TSHIRT_STALL_AFTER_S=60)
    queue = get_queue(app)
    done, stalled = submit(app), submit(app)
    queue.worker.run(done)
    job = job_of(app, done)
    assert (job["status"], job["attempts"], len(job["outputs"])) == ("completed", 1, 7)
    with app.extensions["tshirt"].db.session() as session:
        transitions.transition(session, stalled, JobStatus.COMPOSITING, attempts=1,
                                worker_id="gone:1/x")
    _record_stall_requeues(queue)
    _age_heartbeat(app, stalled, 30)
    assert queue.check_stalls() == []
    _age_heartbeat(app, stalled, 300)
    assert queue.check_stalls() == [stalled]
    assert job_of(app, stalled)["status"] == "pending"
