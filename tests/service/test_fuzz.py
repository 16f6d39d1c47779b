"""Schema-driven fuzzing of the real server: Schemathesis generates requests from the service's
own `/openapi.json` (valid ones and invalid ones) and sends them to `tshirt-service serve` on
loopback (SQLite, no render threads). Every answer must be a status code the document lists for
that route, with a body that matches its schema, and never a 5xx.

The document is made strict for the test only (`additionalProperties: false` on every object
that lists its properties), so a field the API returns but the document does not describe fails
here while clients keep the freedom to ignore new fields. Path ids are often swapped for ids of
seeded jobs (pending, completed with outputs, failed, cancelled, pushed to a store) so that
routes are fuzzed past their 404. Bounded: a fixed number of examples per route, a time limit.
"""

from __future__ import annotations

import copy
import http.client
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from common_helpers import free_port, multipart
from hypothesis import HealthCheck, settings

from shared.jobs import JobStatus, MediaSyncStatus
from sync_service.api.openapi import build_spec
from sync_service.app import create_app
from sync_service.config import SQLITE_NAME
from sync_service.jobs import transitions
from sync_service.models import MediaPush, RenderJob, utcnow

from .conftest import png_bytes
from .test_lifecycle import make_outputs, post_outputs

REPO = Path(__file__).resolve().parents[2]
TOKEN = "fuzz-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
EXAMPLES_PER_ROUTE = 25
#: Requests stop once the run (every route) has taken this long, so that it ends inside a
#: minute even on a busy 2-core machine; about 20 s when the machine is idle.
TIME_BUDGET_S = 35
CHECKS = ["not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance", "negative_data_rejection", "ignored_auth",
          "unsupported_method"]
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")


@dataclass
class FuzzServer:
    base: str
    job_ids: list[str]
    output_names: list[str]
    started: float


def _seed(data_dir: Path) -> tuple[list[str], list[str]]:
    """Jobs in every kind of state, made through the API in-process before the server starts."""
    app = create_app({"TESTING": True, "TSHIRT_DATA_DIR": str(data_dir),
                      "TSHIRT_API_TOKENS": TOKEN, "TSHIRT_DEV_MODE": False})
    service = app.extensions["tshirt"]
    service.enqueue = lambda _job_id: None  # the server's own queue process finds them
    client = app.test_client()
    try:
        def create(**fields: Any) -> dict[str, Any]:
            form = {"product_id": "prod_fuzz", "preset": "chest-medium", "color": "navy",
                    **fields, "design": (io.BytesIO(png_bytes()), "design.png")}
            response = client.post("/admin/render-jobs", headers=AUTH, **multipart(form))
            assert response.status_code == 202, response.json
            return response.json

        pending = create()
        completed = create(source="blender", animation="false")
        manifest, files = make_outputs(completed)
        assert post_outputs(client, AUTH, completed["id"], manifest, files).status_code == 200
        pushed = create(source="cli", color="#c8102e")
        manifest, pushed_files = make_outputs(pushed)
        assert post_outputs(client, AUTH, pushed["id"], manifest, pushed_files).status_code == 200
        failed = create(metadata=json.dumps({"order": 1234}))
        cancelled = create(background="studio", quality="preview")
        with service.db.session() as session:
            transitions.transition(session, failed["id"], JobStatus.COMPOSITING)
            transitions.transition(session, failed["id"], JobStatus.FAILED,
                                   error_code="render_failed", error_message="Blender crashed.")
            transitions.transition(session, cancelled["id"], JobStatus.CANCELLED)
            session.get(RenderJob, pushed["id"]).media_sync_status = MediaSyncStatus.PUSHED.value
            session.add(MediaPush(job_id=pushed["id"], sink="medusa", status="pushed",
                                  attempts=1, remote_files={"files": {"thumbnail": {"id": "f1"}}},
                                  remote_images={"front_0deg": "img_1"}, pushed_at=utcnow()))
            session.commit()
    finally:
        service.db.dispose()
    ids = [job["id"] for job in (pending, completed, pushed, failed, cancelled)]
    return ids, sorted(files)


def _wait_until_serving(base_port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", base_port, timeout=2)
            connection.request("GET", "/health")
            status = connection.getresponse().status
            connection.close()
            if status == 200:
                return
        except OSError:  # not listening yet
            pass
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "the server did not start:\n" + log.read_text()
        time.sleep(0.1)


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory,
                migrated_sqlite: Path) -> Iterator[FuzzServer]:
    folder = tmp_path_factory.mktemp("fuzz")
    data_dir = folder / "data"
    data_dir.mkdir()
    shutil.copyfile(migrated_sqlite, data_dir / SQLITE_NAME)
    job_ids, output_names = _seed(data_dir)
    port = free_port()
    env = {key: value for key, value in os.environ.items()
           if key not in ("DATABASE_URL", "REDIS_URL", "TSHIRT_SERVICE_URL", "MEDUSA_URL")}
    env.update({"TSHIRT_DATA_DIR": str(data_dir), "TSHIRT_API_TOKENS": TOKEN,
                "TSHIRT_RENDER_WORKERS": "0", "PYTHONPATH": str(REPO)})
    log = folder / "serve.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "sync_service.cli", "serve", "--port", str(port),
             "--workers", "1", "--threads", "4", "--no-migrate"],
            env=env, cwd=folder, stdout=handle, stderr=subprocess.STDOUT)
    try:
        _wait_until_serving(port, process, log)
        yield FuzzServer(f"http://127.0.0.1:{port}", job_ids, output_names, time.monotonic())
    finally:
        process.terminate()
        process.wait(20)
    assert "Unhandled error" not in log.read_text(), log.read_text()


def strict(document: dict[str, Any]) -> dict[str, Any]:
    """The document with `additionalProperties: false` wherever an object lists its
    properties and says nothing else about extra ones."""
    document = copy.deepcopy(document)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "properties" in node and "additionalProperties" not in node:
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document["components"])
    for item in document["paths"].values():
        for operation in item.values():
            walk(operation["responses"])
    return document


# The document is built from code, so it is loaded at import; the server's URL comes per call.
schema = schemathesis.openapi.from_dict(strict(build_spec()))
schema.config.update(headers=AUTH)
# CI replays the same examples every run (a failure there reproduces); elsewhere each run
# explores new ones.
schema.config.generation.update(max_examples=EXAMPLES_PER_ROUTE, database="none",
                                deterministic=bool(os.environ.get("CI")))
schema.config.checks.update(included_check_names=CHECKS)


def _swap(value: Any, choices: list[str]) -> Any:
    """A valid generated id replaced, most of the time, by a real one (chosen from the value
    itself, so Hypothesis replays a failing example exactly)."""
    if not isinstance(value, str) or not choices:
        return value
    slot = sum(map(ord, value)) % (len(choices) + 1)
    return value if slot == len(choices) else choices[slot]


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_every_answer_matches_the_document(case: Any, fuzz_server: FuzzServer) -> None:
    if time.monotonic() - fuzz_server.started > TIME_BUDGET_S:
        return  # the budget is spent: the remaining examples pass without a request
    parameters = case.path_parameters or {}
    swaps = {"job_id": fuzz_server.job_ids, "template_id": ["classic-tee"],
             "product_id": ["prod_fuzz"], "name": fuzz_server.output_names}
    for name, choices in swaps.items():
        value = parameters.get(name)
        if isinstance(value, str) and (name == "name" or _SAFE_ID.fullmatch(value)):
            parameters[name] = _swap(value, choices)
    case.call_and_validate(base_url=fuzz_server.base, headers=AUTH, timeout=10)


def test_rich_answers_are_fully_described(fuzz_server: FuzzServer) -> None:
    """Every seeded job (outputs, an error, a store push), the job list, the templates and the
    health answer, checked field by field: the fuzz run may not happen to fetch each."""
    def check(path: str, template: str | None = None) -> dict[str, Any]:
        with requests.Session() as session:
            response = session.get(fuzz_server.base + path, headers=AUTH, timeout=10)
        assert response.status_code == 200, response.text
        schema[template or path.split("?")[0]]["GET"].validate_response(response)
        return response.json()

    jobs = [check(f"/admin/render-jobs/{job_id}", "/admin/render-jobs/{job_id}")
            for job_id in fuzz_server.job_ids]
    assert any(job["outputs"] for job in jobs) and any(job["error"] for job in jobs)
    assert any(job.get("media_push") for job in jobs)
    assert check("/admin/render-jobs?limit=100")["total"] >= len(jobs)
    check("/admin/products/prod_fuzz/render-jobs?status=completed",
          "/admin/products/{product_id}/render-jobs")
    check("/admin/render-templates")
    check("/admin/render-templates/classic-tee", "/admin/render-templates/{template_id}")
    check("/health")
