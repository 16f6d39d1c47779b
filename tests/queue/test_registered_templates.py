"""A job on a registered template (uploaded with its model) renders from the template's folder:
the embedded worker names the service's folder, a remote worker a copy it fetched over HTTP
into its own cache, once per version of the template. Bundled templates stay named by id.

The remote worker runs in-process against the service served on loopback by a thread (the same
database file, a data directory of its own), so its downloads and upload are real HTTP."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fake_renderer import FakeRenderer
from flask import Flask
from queue_helpers import AUTH, job_of, submit
from template_uploads import glb_bytes, registration

from sync_service.config import sqlite_url
from sync_service.queue import template_cache
from sync_service.queue.outcomes import Failure
from sync_service.queue.runtime import get_queue

MODEL = glb_bytes(padding=1000)


def register(app: Flask) -> None:
    response = app.test_client().post("/admin/render-templates", headers=AUTH,
                                      **registration(model=MODEL))
    assert response.status_code == 201, response.json


def rendered_template(fake: FakeRenderer, run: int) -> str:
    return fake.runs()[run]["spec"]["template"]


def test_the_embedded_worker_renders_a_registered_template_from_its_folder(
        make_app: Callable[..., Flask], fake_renderer: FakeRenderer, data_dir: Path) -> None:
    app = make_app(TSHIRT_BLENDER_BIN=str(fake_renderer.binary))
    register(app)
    worker = get_queue(app).worker
    registered = submit(app, template_id="my-hoodie", preset="back-large")
    bundled = submit(app, template_id="classic-tee")
    for job_id in (registered, bundled):
        worker.run(job_id)
        assert job_of(app, job_id)["status"] == "completed", job_of(app, job_id)
    folder = data_dir.resolve() / "templates" / "my-hoodie"
    assert rendered_template(fake_renderer, 0) == str(folder)
    assert (folder / "garment.glb").read_bytes() == MODEL
    assert rendered_template(fake_renderer, 1) == "classic-tee"


def test_a_remote_worker_fetches_a_registered_template_once_into_its_cache(
        served: tuple[Flask, str], make_app: Callable[..., Flask], data_dir: Path,
        tmp_path: Path, fake_renderer: FakeRenderer, monkeypatch: pytest.MonkeyPatch) -> None:
    service, base = served
    register(service)
    worker_dir = tmp_path / "worker-data"
    remote = make_app(TSHIRT_DATA_DIR=str(worker_dir), DATABASE_URL=sqlite_url(data_dir),
                      TSHIRT_SERVICE_URL=base, TSHIRT_BLENDER_BIN=str(fake_renderer.binary))
    worker = get_queue(remote).worker
    fetched: list[str] = []
    download = template_cache._download

    def counted(client: Any, template_id: str, name: str, *args: Any) -> None:
        fetched.append(name)
        download(client, template_id, name, *args)

    monkeypatch.setattr(template_cache, "_download", counted)
    jobs = [submit(service, template_id="my-hoodie") for _ in range(2)]
    bundled = submit(service, template_id="classic-tee")
    for job_id in [*jobs, bundled]:
        worker.run(job_id)
        assert job_of(service, job_id)["status"] == "completed", job_of(service, job_id)

    first, second = rendered_template(fake_renderer, 0), rendered_template(fake_renderer, 1)
    assert first == second  # the second job used the cached copy ...
    assert sorted(fetched) == ["garment.glb", "template.json"]  # ... fetched once
    cached = Path(first)
    assert cached.parent.parent == worker_dir.resolve() / template_cache.CACHE_DIR
    assert cached.name == "my-hoodie" and cached.parent.name.startswith("my-hoodie-")
    for name in ("garment.glb", "template.json"):
        assert (cached / name).read_bytes() == (data_dir / "templates" / "my-hoodie"
                                                / name).read_bytes()
    assert rendered_template(fake_renderer, 2) == "classic-tee"
    assert not [p for p in cached.parent.parent.iterdir() if p.name.startswith(".incoming-")]


def test_a_damaged_template_download_is_not_cached(
        served: tuple[Flask, str], make_app: Callable[..., Flask], data_dir: Path,
        tmp_path: Path, fake_renderer: FakeRenderer, monkeypatch: pytest.MonkeyPatch) -> None:
    service, base = served
    register(service)
    remote = make_app(TSHIRT_DATA_DIR=str(tmp_path / "worker-data"),
                      DATABASE_URL=sqlite_url(data_dir), TSHIRT_SERVICE_URL=base,
                      TSHIRT_BLENDER_BIN=str(fake_renderer.binary))
    folders = get_queue(remote).worker.templates
    listing = template_cache._listing

    def lying(client: Any, template_id: str) -> list[dict[str, Any]]:
        return [{**item, "sha256": "0" * 64} for item in listing(client, template_id)]

    monkeypatch.setattr(template_cache, "_listing", lying)
    with pytest.raises(Failure) as failure:
        folders.ref("my-hoodie")
    assert failure.value.code == "template_download_failed" and failure.value.retryable
    cache = tmp_path / "worker-data" / template_cache.CACHE_DIR
    assert list(cache.iterdir()) == []
    monkeypatch.undo()
    assert Path(folders.ref("my-hoodie")).name == "my-hoodie"
