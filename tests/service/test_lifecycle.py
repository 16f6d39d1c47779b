"""Cancel, retry, outputs, push and file downloads; and status changes racing in threads."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from common_helpers import multipart
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from shared.angles import ANGLE_IDS
from shared.contracts import Manifest, OutputFile, ProgressEvent, RenderSpec
from shared.errors import InvalidTransition
from shared.jobs import JobStatus, progress_percent
from shared.prints import PrintSpec
from sync_service.jobs import commands, forms, transitions
from sync_service.jobs.prints import Design, JobPrint
from sync_service.jobs.storage import Storage
from sync_service.jobs.uploads import check_design
from sync_service.migrate import upgrade
from sync_service.models import RenderJob, RenderTemplate, utcnow

from .conftest import png_bytes


def _set_status(app: Flask, job_id: str, *path: JobStatus) -> None:
    with app.app_context(), app.extensions["tshirt"].db.session() as session:
        for status in path:
            assert transitions.transition(session, job_id, status)


def _fail(app: Flask, job_id: str) -> None:
    _set_status(app, job_id, JobStatus.COMPOSITING)
    with app.extensions["tshirt"].db.session() as session:
        transitions.transition(session, job_id, JobStatus.FAILED, error_code="render_failed",
                                error_message="Blender crashed.")


def make_outputs(job: dict[str, Any], angles: tuple[str, ...] = ANGLE_IDS) -> tuple[str, dict]:
    """A manifest and its files, as the renderer would write them."""
    files: dict[str, bytes] = {}
    outputs = []
    for index, angle in enumerate(angles):
        data = png_bytes(16, 16, color=(index * 30, 10, 10, 255))
        name = f"{angle}.png"
        files[name] = data
        outputs.append(OutputFile(kind="still", file=name, width=16, height=16,
                                  sha256=hashlib.sha256(data).hexdigest(),
                                  size_bytes=len(data), angle=angle))
    prints = tuple(PrintSpec(design=f"design-{p['position']}.png", preset=p["preset"])
                   for p in job["prints"])
    spec = RenderSpec(prints=prints, color=job["color"], output_dir="out", job_id=job["id"])
    manifest = Manifest(spec=spec, blender_version="5.0.1", outputs=tuple(outputs),
                        timings={"total": 1.0}, created_at="2026-01-01T00:00:00Z")
    return manifest.to_json(), files


def post_outputs(client: FlaskClient, auth: dict, job_id: str, manifest: str,
                 files: dict[str, bytes]) -> Any:
    fields: dict[str, Any] = {"manifest": manifest}
    body = multipart(fields)
    # Several parts under the same name: encode them by hand on top of werkzeug's encoder.
    boundary = body["content_type"].split("boundary=")[1]
    extra = b"".join(
        (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\""
         f"\r\nContent-Type: application/octet-stream\r\n\r\n").encode() + data + b"\r\n"
        for name, data in files.items())
    closing = f"--{boundary}--\r\n".encode()
    assert body["data"].endswith(closing)
    body["data"] = body["data"][: -len(closing)] + extra + closing
    return client.post(f"/admin/render-jobs/{job_id}/outputs", headers=auth, **body)


# -- cancel ------------------------------------------------------------------------------------


def test_cancel_pending_job_then_again_is_a_no_op(client: FlaskClient, auth: dict,
                                                  create_job) -> None:
    job = create_job().json
    first = client.post(f"/admin/render-jobs/{job['id']}/cancel", headers=auth)
    assert first.status_code == 200 and first.json["status"] == "cancelled"
    assert first.json["completed_at"] is not None
    again = client.post(f"/admin/render-jobs/{job['id']}/cancel", headers=auth)
    assert again.status_code == 200 and again.json["status"] == "cancelled"


def test_cancel_running_job(client: FlaskClient, auth: dict, create_job, app: Flask) -> None:
    job = create_job().json
    _set_status(app, job["id"], JobStatus.COMPOSITING, JobStatus.RENDERING)
    response = client.post(f"/admin/render-jobs/{job['id']}/cancel", headers=auth)
    assert response.json["status"] == "cancelled"


@pytest.mark.parametrize("terminal", ["completed", "failed"])
def test_cancel_terminal_job_is_409(client: FlaskClient, auth: dict, create_job, app: Flask,
                                    terminal: str) -> None:
    job = create_job().json
    if terminal == "failed":
        _fail(app, job["id"])
    else:
        _set_status(app, job["id"], JobStatus.COMPOSITING, JobStatus.RENDERING,
                    JobStatus.COMPLETED)
    response = client.post(f"/admin/render-jobs/{job['id']}/cancel", headers=auth)
    assert response.status_code == 409
    assert response.json["code"] == "invalid_transition"


def test_cancel_unknown_job_is_404(client: FlaskClient, auth: dict) -> None:
    response = client.post("/admin/render-jobs/rjob_01ARZ3NDEKTSV4RRFFQ69G5FAV/cancel",
                           headers=auth)
    assert response.status_code == 404


# -- retry -------------------------------------------------------------------------------------


def test_retry_failed_job_copies_design_and_applies_overrides(
        client: FlaskClient, auth: dict, create_job, app: Flask, data_dir: Path) -> None:
    job = create_job(png_bytes(33, 22), metadata='{"a": 1}').json
    _fail(app, job["id"])
    app.extensions["tshirt"].enqueued.clear()
    response = client.post(f"/admin/render-jobs/{job['id']}/retry", headers=auth,
                           json={"color": "white", "preset": "back-small"})
    assert response.status_code == 202, response.json
    new = response.json
    assert new["id"] != job["id"] and new["retried_from"] == job["id"]
    assert (new["status"], new["color"], new["preset"]) == ("pending", "#ffffff", "back-small")
    assert new["design"]["sha256"] == job["design"]["sha256"]
    assert new["metadata"] == {"a": 1} and new["quality"] == job["quality"]
    assert (data_dir / "jobs" / new["id"] / "design.png").read_bytes() == \
        (data_dir / "jobs" / job["id"] / "design.png").read_bytes()
    assert app.extensions["tshirt"].enqueued == [new["id"]]
    old = client.get(f"/admin/render-jobs/{job['id']}", headers=auth).json
    assert old["status"] == "failed" and old["error"]["code"] == "render_failed"


def test_retry_cancelled_job_without_body(client: FlaskClient, auth: dict, create_job) -> None:
    job = create_job().json
    client.post(f"/admin/render-jobs/{job['id']}/cancel", headers=auth)
    response = client.post(f"/admin/render-jobs/{job['id']}/retry", headers=auth)
    assert response.status_code == 202 and response.json["retried_from"] == job["id"]


def test_retry_refusals(client: FlaskClient, auth: dict, create_job, app: Flask) -> None:
    job = create_job().json
    response = client.post(f"/admin/render-jobs/{job['id']}/retry", headers=auth)
    assert response.status_code == 409  # pending
    client.post(f"/admin/render-jobs/{job['id']}/cancel", headers=auth)
    response = client.post(f"/admin/render-jobs/{job['id']}/retry", headers=auth,
                           json={"preset": "nope"})
    assert response.status_code == 422 and response.json["code"] == "unknown_preset"
    response = client.post(f"/admin/render-jobs/{job['id']}/retry", headers=auth,
                           data="[1]", content_type="application/json")
    assert response.status_code == 400
    (Path(app.config["TSHIRT_DATA_DIR"]) / "jobs" / job["id"] / "design.png").unlink()
    response = client.post(f"/admin/render-jobs/{job['id']}/retry", headers=auth)
    assert response.status_code == 409 and response.json["code"] == "design_missing"


# -- outputs -----------------------------------------------------------------------------------


def test_outputs_complete_a_running_job(client: FlaskClient, auth: dict, create_job,
                                        data_dir: Path, app: Flask) -> None:
    job = create_job(source="blender").json
    manifest, files = make_outputs(job)
    response = post_outputs(client, auth, job["id"], manifest, files)
    assert response.status_code == 200, response.json
    done = response.json
    assert (done["status"], done["progress"]) == ("completed", 100)
    assert [o["angle"] for o in done["outputs"]] == list(ANGLE_IDS)
    for output in done["outputs"]:
        assert output["url"] == f"/admin/render-jobs/{job['id']}/outputs/{output['file']}"
        served = client.get(output["url"], headers=auth)
        assert served.status_code == 200 and served.data == files[output["file"]]
        served.close()
    assert (data_dir / "jobs" / job["id"] / "outputs" / "manifest.json").is_file()
    with app.extensions["tshirt"].db.session() as session:
        stored = session.get(RenderJob, job["id"])
        assert stored is not None and stored.outputs is not None
        assert all(o["path"].startswith(f"jobs/{job['id']}/outputs/") for o in stored.outputs)
    # A second upload for the finished job is refused.
    again = post_outputs(client, auth, job["id"], manifest, files)
    assert again.status_code == 409


def test_outputs_may_be_larger_than_a_design(client: FlaskClient, auth: dict,
                                             create_job) -> None:
    """The 10 MB request limit is for designs; a turntable video may be far bigger."""
    job = create_job(source="blender").json
    manifest_text, files = make_outputs(job)
    video = os.urandom(12 * 1024 * 1024)
    manifest = json.loads(manifest_text)
    manifest["outputs"].append({"kind": "animation", "file": "turntable.mp4", "width": 16,
                                "height": 16, "sha256": hashlib.sha256(video).hexdigest(),
                                "size_bytes": len(video)})
    response = post_outputs(client, auth, job["id"], json.dumps(manifest),
                            {**files, "turntable.mp4": video})
    assert response.status_code == 200, response.json
    assert response.json["outputs"][-1]["kind"] == "animation"


def test_outputs_that_do_not_match_the_manifest_are_refused(
        client: FlaskClient, auth: dict, create_job, data_dir: Path) -> None:
    job = create_job(source="blender").json
    manifest, files = make_outputs(job)
    tampered = dict(files, **{"front_0deg.png": png_bytes(16, 16, color=(0, 255, 0, 255))})
    response = post_outputs(client, auth, job["id"], manifest, tampered)
    assert response.status_code == 422 and response.json["code"] == "manifest_mismatch"
    missing = {k: v for k, v in files.items() if k != "left_90deg.png"}
    response = post_outputs(client, auth, job["id"], manifest, missing)
    assert response.status_code == 422 and response.json["code"] == "manifest_mismatch"
    response = post_outputs(client, auth, job["id"], manifest, dict(files, **{"x.png": b"x"}))
    assert response.status_code == 422
    response = post_outputs(client, auth, job["id"], manifest,
                            dict(files, **{"../evil.png": b"x"}))
    assert response.status_code == 400
    response = post_outputs(client, auth, job["id"], "{not json", files)
    assert response.status_code == 422 and response.json["code"] == "invalid_spec"
    other, _ = make_outputs({**job, "prints": [{**job["prints"][0], "preset": "back-large"}]})
    assert post_outputs(client, auth, job["id"], other, files).status_code == 422
    # Nothing was kept, and the job still waits for its outputs.
    assert sorted(p.name for p in (data_dir / "jobs" / job["id"]).iterdir()) == ["design.png"]
    assert client.get(f"/admin/render-jobs/{job['id']}", headers=auth).json["status"] == \
        "rendering"


def test_outputs_for_a_pending_job_are_409(client: FlaskClient, auth: dict,
                                           create_job) -> None:
    job = create_job().json
    manifest, files = make_outputs(job)
    assert post_outputs(client, auth, job["id"], manifest, files).status_code == 409
    no_manifest = client.post(f"/admin/render-jobs/{job['id']}/outputs", headers=auth,
                              **multipart({"x": "y"}))
    assert no_manifest.status_code == 400


# -- push and files ----------------------------------------------------------------------------


def test_push_needs_a_completed_job_and_a_backend(client: FlaskClient, auth: dict, create_job,
                                                  app: Flask) -> None:
    job = create_job(source="blender").json
    response = client.post(f"/admin/render-jobs/{job['id']}/push", headers=auth)
    assert response.status_code == 409 and response.json["code"] == "invalid_transition"
    manifest, files = make_outputs(job)
    post_outputs(client, auth, job["id"], manifest, files)
    response = client.post(f"/admin/render-jobs/{job['id']}/push", headers=auth)
    assert response.status_code == 409 and response.json["code"] == "media_not_configured"
    pushed: list[str] = []
    app.extensions["tshirt"].push = pushed.append
    response = client.post(f"/admin/render-jobs/{job['id']}/push", headers=auth)
    assert response.status_code == 202 and response.json["media_sync_status"] == "pending"
    assert pushed == [job["id"]]


def test_design_download_and_unknown_output(client: FlaskClient, auth: dict,
                                            create_job) -> None:
    design = png_bytes(9, 9)
    job = create_job(design).json
    response = client.get(job["design"]["url"], headers=auth)
    assert response.status_code == 200 and response.data == design
    assert response.mimetype == "image/png"
    response.close()
    for name in ("design.png", "..%2Fdesign.png", "manifest.json"):
        response = client.get(f"/admin/render-jobs/{job['id']}/outputs/{name}", headers=auth)
        assert response.status_code == 404 and response.is_json


# -- races -------------------------------------------------------------------------------------


def _race(engine: Engine, job_id: str, targets: list[JobStatus]) -> Counter:
    sessions = sessionmaker(engine, expire_on_commit=False)
    barrier = threading.Barrier(len(targets))
    results: Counter = Counter()
    lock = threading.Lock()

    def attempt(target: JobStatus) -> None:
        with sessions() as session:
            barrier.wait()
            try:
                outcome = "won" if transitions.transition(session, job_id, target) else "no-op"
            except InvalidTransition:
                outcome = "refused"
        with lock:
            results[(target.value, outcome)] += 1

    threads = [threading.Thread(target=attempt, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def _seed_running_job(engine: Engine, tmp_path: Path) -> str:
    upgrade(engine)
    sessions = sessionmaker(engine, expire_on_commit=False)
    storage = Storage(tmp_path / "files")
    with sessions() as session:
        if session.get(RenderTemplate, "classic-tee") is None:
            session.add(RenderTemplate(id="classic-tee", name="Classic", description="",
                                       supported_presets=[], default_color="#ffffff",
                                       active=True, is_default=True))
            session.commit()
        options = forms.JobOptions(color="#000000", template_id="classic-tee")
        data = png_bytes()
        design = Design(info=check_design(data), name="d.png", data=data)
        job = commands.create_job(session, storage, product_id="p", options=options,
                                  prints=[JobPrint(PrintSpec("d.png", "chest-small"), design)])
        transitions.transition(session, job.id, JobStatus.COMPOSITING)
        transitions.transition(session, job.id, JobStatus.RENDERING)
        return job.id


def test_complete_and_cancel_race_exactly_one_wins(any_engine: Engine, tmp_path: Path) -> None:
    for _round in range(3):
        job_id = _seed_running_job(any_engine, tmp_path)
        targets = [JobStatus.COMPLETED, JobStatus.CANCELLED] * 4
        results = _race(any_engine, job_id, targets)
        winners = [key for key, count in results.items() if key[1] == "won" for _ in range(count)]
        assert len(winners) == 1, results
        winner = winners[0][0]
        loser = "cancelled" if winner == "completed" else "completed"
        assert results[(loser, "refused")] == 4  # the other side always gets a 409
        assert results[(winner, "no-op")] == 3  # the same status again changes nothing
        with sessionmaker(any_engine)() as session:
            assert session.get(RenderJob, job_id).status == winner  # type: ignore[union-attr]


def test_two_workers_claiming_a_job_only_one_gets_it(any_engine: Engine,
                                                    tmp_path: Path) -> None:
    job_id = _seed_running_job(any_engine, tmp_path)
    with sessionmaker(any_engine)() as session:
        transitions.transition(session, job_id, JobStatus.PENDING)  # worker lost: re-queued
    results = _race(any_engine, job_id, [JobStatus.COMPOSITING] * 6)
    assert results[("compositing", "won")] == 1 and results[("compositing", "no-op")] == 5


def test_concurrent_cancel_requests_over_http(app: Flask, auth: dict, create_job) -> None:
    job = create_job().json
    barrier = threading.Barrier(6)
    statuses: list[int] = []

    def cancel() -> None:
        client = app.test_client()
        barrier.wait()
        statuses.append(client.post(f"/admin/render-jobs/{job['id']}/cancel",
                                    headers=auth).status_code)

    threads = [threading.Thread(target=cancel) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert statuses == [200] * 6
    assert app.test_client().get(f"/admin/render-jobs/{job['id']}",
                                 headers=auth).json["status"] == "cancelled"


def _job_row(app: Flask, job_id: str) -> RenderJob:
    with app.extensions["tshirt"].db.session() as session:
        job = session.get(RenderJob, job_id)
        assert job is not None
        session.expunge(job)
        return job


def test_progress_lands_only_for_the_worker_holding_a_running_job(
        app: Flask, create_job, client: FlaskClient, auth: dict) -> None:
    job_id = create_job().json["id"]
    event = ProgressEvent(stage="rendering", images_done=3, images_total=6, frames_done=0,
                          frames_total=48)
    db = app.extensions["tshirt"].db
    with db.session() as session:
        # Pending: nobody holds it yet, so nothing is written.
        assert not transitions.record_progress(session, job_id, "w1", "rendering", event)
        assert _job_row(app, job_id).stage == "queued"
        transitions.transition(session, job_id, JobStatus.COMPOSITING, worker_id="w1")
        transitions.transition(session, job_id, JobStatus.RENDERING)
        # Another worker (one that lost the job to a requeue) writes nothing.
        assert not transitions.record_progress(session, job_id, "w2", "rendering", event)
        assert _job_row(app, job_id).images_done == 0
        before = datetime.now(UTC)
        assert transitions.record_progress(session, job_id, "w1", "rendering", event)
    body = client.get(f"/admin/render-jobs/{job_id}", headers=auth).json
    assert body["stage"] == "rendering" and body["worker_id"] == "w1"
    assert body["counts"] == {"images_done": 3, "images_total": 6, "frames_done": 0,
                              "frames_total": 48}
    assert body["progress"] == progress_percent("rendering", images_done=3, images_total=6,
                                                frames_done=0, frames_total=48)
    assert 5 < body["progress"] < 99
    heartbeat = datetime.fromisoformat(body["heartbeat_at"].replace("Z", "+00:00"))
    assert before - timedelta(seconds=1) <= heartbeat <= datetime.now(UTC)

    # A heartbeat alone moves the time, not the counts.
    with db.session() as session:
        assert transitions.record_progress(session, job_id, "w1", "rendering")
    row = _job_row(app, job_id)
    assert row.images_done == 3 and row.stage == "rendering"

    # Once cancelled, a late event from the same worker is refused and changes nothing.
    assert client.post(f"/admin/render-jobs/{job_id}/cancel", headers=auth).status_code == 200
    late = ProgressEvent(stage="animating", images_done=6, images_total=6, frames_done=10,
                         frames_total=48)
    with db.session() as session:
        assert not transitions.record_progress(session, job_id, "w1", "rendering", late)
    row = _job_row(app, job_id)
    assert row.status == "cancelled" and row.stage == "cancelled" and row.images_done == 3


def test_timestamps_are_timezone_aware_utc() -> None:
    now = utcnow()
    assert now.utcoffset() == timedelta(0)
    assert abs((now - datetime.now(UTC)).total_seconds()) < 5
