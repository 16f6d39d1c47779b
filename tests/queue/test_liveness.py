"""Liveness of queue processes and their jobs: the heartbeat is the worker's own thread (it goes
on while Blender is silent), the registry of queue processes and its migration, scratch folders
of dead runs removed, and a `tshirt-service worker` killed with -9 noticed within 30 s with the
default settings, its job completed once by another worker."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from common_helpers import free_port
from fake_renderer import FakeRenderer, pid_alive
from queue_helpers import (
    AUTH,
    http,
    job_of,
    poll,
    redis_url,
    submit,
    upload,
    wait_for,
    wait_http,
)
from sqlalchemy import select, text, update

from shared.jobs import JobStatus
from sync_service.config import QueueSettings, sqlite_url
from sync_service.db import Database
from sync_service.jobs import transitions
from sync_service.migrate import current_revision, upgrade
from sync_service.models import QueueWorker, RenderJob
from sync_service.queue import liveness
from sync_service.queue.runtime import get_queue
from sync_service.queue.stalls import remove_stale_scratch, requeue_stalled, scratch_dir


def _heartbeat(app: Any, job_id: str) -> datetime | None:
    with app.extensions["tshirt"].db.session() as session:
        return session.scalar(select(RenderJob.heartbeat_at).where(RenderJob.id == job_id))


def _render_folders(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "tmp").glob("render-*"))


def test_the_heartbeat_goes_on_while_blender_is_silent(make_app, fake_renderer) -> None:
    fake_renderer.set("sleep", sleep_s=60)  # one event, then nothing for a minute
    app = make_app(TSHIRT_BLENDER_BIN=str(fake_renderer.binary), TSHIRT_HEARTBEAT_S=0.1)
    queue = get_queue(app)
    liveness.register(queue.db, queue.settings.worker_name, "worker", 1)
    job_id = submit(app)
    thread = threading.Thread(target=queue.worker.run, args=(job_id,))
    thread.start()
    fake_renderer.wait_started()
    wait_for(lambda: _heartbeat(app, job_id), 5, "no heartbeat")
    first = _heartbeat(app, job_id)
    seen_first = liveness.last_seen(queue.db, queue.settings.worker_name)
    time.sleep(1.0)
    assert _heartbeat(app, job_id) > first  # type: ignore[operator]
    assert liveness.last_seen(queue.db, queue.settings.worker_name) > seen_first  # type: ignore[operator]
    assert len(fake_renderer.runs()) == 1 and job_of(app, job_id)["status"] == "compositing"
    queue.worker.shutdown(wait_s=10)
    thread.join(10)
    assert job_of(app, job_id)["status"] == "pending"


def test_the_registry_records_start_beat_stop_and_exits(make_app) -> None:
    db = get_queue(make_app()).db
    liveness.register(db, "box:1", "worker", 2, pid=4242)
    with db.session() as session:
        row = session.get(QueueWorker, "box:1")
        assert (row.kind, row.pid, row.render_threads, row.exits) == ("worker", 4242, 2, 0)
        assert row.stopped_at is None
    assert liveness.beat(db, "box:1") and not liveness.beat(db, "never-registered")
    liveness.stopped(db, "box:1", "killed by SIGKILL")
    liveness.register(db, "box:1", "worker", 2)  # restarted: running again, its exits kept
    liveness.stopped(db, "box:1")  # asked to stop: not counted
    with db.session() as session:
        row = session.get(QueueWorker, "box:1")
        assert (row.exits, row.last_exit) == (1, "killed by SIGKILL")
        assert row.stopped_at is not None
    old = datetime.now(UTC) + timedelta(seconds=liveness.FORGET_AFTER_S + 60)
    assert liveness.forget_old(db, now=old) == 1
    assert liveness.last_seen(db, "box:1") is None


def test_a_started_runtime_registers_and_a_stopped_one_says_so(make_app) -> None:
    app = make_app(TSHIRT_RENDER_WORKERS=0, TSHIRT_HEARTBEAT_S=0.1)
    queue = get_queue(app)
    queue.start(render_workers=0, maintenance=True)
    name = queue.settings.worker_name
    first = wait_for(lambda: liveness.last_seen(queue.db, name), 5, "not registered")
    wait_for(lambda: liveness.last_seen(queue.db, name) > first, 5, "no beat")
    queue.stop(wait_s=5)
    with queue.db.session() as session:
        row = session.get(QueueWorker, name)
        assert row.kind == "serve" and row.stopped_at is not None and row.exits == 0


def test_stale_scratch_folders_go_live_ones_stay(make_app) -> None:
    app = make_app()
    ext = app.extensions["tshirt"]
    running, requeued, finished = submit(app), submit(app), submit(app)
    with ext.db.session() as session:
        for job_id in (running, requeued):
            transitions.transition(session, job_id, JobStatus.COMPOSITING,
                                   worker_id="box:1/RUNNOW00")
    live = scratch_dir(ext.storage, running, "box:1/RUNNOW00")
    earlier_attempt = scratch_dir(ext.storage, running, "box:9/DEADRUN0")
    of_requeued = scratch_dir(ext.storage, requeued, "box:1/RUNNOW00")
    of_finished = scratch_dir(ext.storage, finished, "box:2/GONE0000")
    (of_finished / "out").mkdir()
    (of_finished / "out" / "front_0deg.png").write_bytes(b"partial")
    unrelated = ext.storage.root / "tmp" / "upload-abc"
    unrelated.mkdir()
    with ext.db.session() as session:
        transitions.transition(session, requeued, JobStatus.PENDING, worker_id=None)
    removed = remove_stale_scratch(ext.db, ext.storage)
    assert sorted(removed) == sorted([earlier_attempt, of_requeued, of_finished])
    assert live.is_dir() and unrelated.is_dir()


def test_a_worker_removes_stale_scratch_at_start_and_after_each_job(make_app,
                                                                    fake_renderer) -> None:
    app = make_app(TSHIRT_BLENDER_BIN=str(fake_renderer.binary))
    ext, queue = app.extensions["tshirt"], get_queue(app)
    killed = submit(app)  # a run killed mid-render left its folder behind
    scratch_dir(ext.storage, killed, "other:1/KILLED00")
    queue.start(render_workers=0, maintenance=False)
    assert _render_folders(ext.storage.root) == []
    scratch_dir(ext.storage, killed, "other:1/KILLED01")
    job_id = submit(app)
    queue.worker.run(job_id)
    assert job_of(app, job_id)["status"] == "completed"
    assert _render_folders(ext.storage.root) == []


def test_a_silent_worker_is_requeued_after_the_default_stall_limit(make_app,
                                                                   fake_renderer) -> None:
    """15 s of missed heartbeats by default (checked every 5 s): within 30 s in all."""
    defaults = QueueSettings()
    assert defaults.stall_after_s + defaults.stall_check_s <= 30
    app = make_app()
    ext, queue = app.extensions["tshirt"], get_queue(app)
    job_id = submit(app)
    with ext.db.session() as session:
        transitions.transition(session, job_id, JobStatus.COMPOSITING,
                               worker_id="gone:1/RUN00000", attempts=1)
    enqueued: list[tuple[str, float]] = []

    def age(seconds: float) -> None:
        with ext.db.session() as session:
            session.execute(update(RenderJob).where(RenderJob.id == job_id).values(
                heartbeat_at=datetime.now(UTC) - timedelta(seconds=seconds)))
            session.commit()

    age(defaults.stall_after_s - 3)
    assert requeue_stalled(ext.db, queue.settings, lambda *a: enqueued.append(a)) == []
    age(defaults.stall_after_s + 1)
    assert requeue_stalled(ext.db, queue.settings, lambda *a: enqueued.append(a)) == [job_id]
    assert enqueued == [(job_id, 0)] and job_of(app, job_id)["error"]["code"] == "worker_lost"


def test_a_stall_limit_shorter_than_three_heartbeats_is_refused() -> None:
    from sync_service.config import ConfigError, Settings

    with pytest.raises(ConfigError, match="TSHIRT_STALL_AFTER_S"):
        Settings.load({"TSHIRT_HEARTBEAT_S": 2, "TSHIRT_STALL_AFTER_S": 5}, environ={})


# -- the migration ---------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database of each kind the service supports."""
    if request.param == "sqlite":
        url = sqlite_url(tmp_path)
    else:
        url = request.getfixturevalue("postgres_url")
        schema = request.getfixturevalue("postgres_schema")
        url += f"{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    database = Database(url, pool_size=1)
    yield database
    database.dispose()


def test_upgrading_from_0001_keeps_the_jobs_and_adds_the_registry(database: Database) -> None:
    upgrade(database.engine, "0001")
    with database.engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO render_templates (id, name, description, supported_presets, "
            "default_color, active, is_default, created_at, updated_at) VALUES ('tee', 'Tee', "
            "'', '[]', '#ffffff', true, true, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"))
        connection.execute(text(
            "INSERT INTO render_jobs (id, product_id, preset, color, template_id, quality, "
            "animation, background, source, status, progress, stage, images_done, "
            "images_total, frames_done, frames_total, design_path, design_name, design_type, "
            "design_size, design_sha256, design_width, design_height, attempts, "
            "media_sync_status, created_at, updated_at, worker_id, heartbeat_at, metadata) "
            "VALUES ('rjob_01ARZ3NDEKTSV4RRFFQ69G5FAV', 'p1', 'chest-medium', '#112233', 'tee', "
            "'standard', true, 'transparent', 'api', 'rendering', 40, 'rendering', 2, 6, 0, 0, "
            "'jobs/x/design.png', 'd.png', 'png', 10, 'ab', 8, 8, 1, 'not_configured', "
            "'2026-01-01 00:00:00', '2026-01-01 00:00:00', 'old-box:1/RUN00000', "
            "'2026-01-01 00:00:00', '{}')"))
    upgrade(database.engine, "0002")
    assert current_revision(database.engine) == "0002"
    with database.engine.connect() as connection:
        job = connection.execute(text("SELECT status, progress, worker_id FROM render_jobs")).one()
        assert tuple(job) == ("rendering", 40, "old-box:1/RUN00000")
        assert connection.execute(text("SELECT count(*) FROM queue_workers")).scalar() == 0
    liveness.register(database, "new-box:1", "worker", 1)
    assert liveness.last_seen(database, "new-box:1") is not None


# -- a real worker killed with -9 ------------------------------------------------------------


@pytest.mark.parametrize("stores", ["sqlite", "postgresql+redis"])
def test_a_killed_worker_is_noticed_within_30_s_and_its_job_completes_once(
        spawn, tmp_path: Path, fake_renderer: FakeRenderer, request: pytest.FixtureRequest,
        stores: str) -> None:
    fake_renderer.set("sleep", "ok", sleep_s=120)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data = tmp_path / "data"
    common = {"TSHIRT_DATA_DIR": str(data), "TSHIRT_BLENDER_BIN": str(fake_renderer.binary)}
    if stores != "sqlite":
        common.update(DATABASE_URL=request.getfixturevalue("postgres_database_url"),
                      REDIS_URL=redis_url())
    server = spawn("serve", ["serve", "--port", str(port), "--workers", "1"],
                   TSHIRT_RENDER_WORKERS="0", **common)
    wait_http(base, server)
    first = spawn("worker-a", ["worker"], TSHIRT_WORKER_NAME="worker-a", **common)
    job = upload(base)
    poll(base, job["id"], lambda j: (j["worker_id"] or "").startswith("worker-a/"), timeout=60)
    blender = fake_renderer.wait_started()["pid"]
    first.process.send_signal(signal.SIGKILL)
    first.process.wait(5)
    killed_at = time.monotonic()
    wait_for(lambda: not pid_alive(blender), 5, "Blender outlived its worker")
    spawn("worker-b", ["worker"], TSHIRT_WORKER_NAME="worker-b", **common)
    poll(base, job["id"], lambda j: not (j["worker_id"] or "").startswith("worker-a/"),
         timeout=30)
    assert time.monotonic() - killed_at < 30
    done = poll(base, job["id"], lambda j: j["status"] in ("completed", "failed"), timeout=60)
    assert done["status"] == "completed", done
    assert done["attempts"] == 2 and done["worker_id"].startswith("worker-b/")
    assert len(fake_renderer.runs()) == 2  # the killed render and one that finished
    health = http("GET", f"{base}/health").json()
    alive = {w["name"]: w["alive"] for w in health["workers"]}
    assert alive["worker-a"] is False and alive["worker-b"] is True
    wait_for(lambda: _render_folders(data) == [], 10, "the killed render's folder stayed")
    jobs = http("GET", f"{base}/admin/render-jobs", headers=AUTH).json()["items"]
    assert [j["status"] for j in jobs] == ["completed"]
