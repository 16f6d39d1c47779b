"""Fixtures and helpers for the store-push tests (`conftest.py` re-exports the fixtures).

The real-Medusa tests read `MEDUSA_TEST_URL` and `MEDUSA_TEST_API_KEY` (and
`MEDUSA_TEST_EMAIL` / `MEDUSA_TEST_PASSWORD`), which `eval "$(.ci/medusa)"` sets; without them
they are skipped locally and fail in CI (`CI` set), so CI cannot pass by skipping them.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from PIL import Image

from shared.angles import ANGLE_IDS, STILL_IDS
from shared.job_colors import color_dir
from shared.jobs import JobSource, JobStatus
from shared.prints import PrintSpec
from shared.validation import DesignInfo
from sync_service.app import create_app
from sync_service.jobs import commands, forms, transitions
from sync_service.jobs.prints import Design, JobPrint
from sync_service.media.tasks import EXTENSION as MEDIA_EXTENSION
from sync_service.media.tasks import MediaPusher
from sync_service.queue.runtime import get_queue

TOKEN = "medusa-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
#: A distinct colour per still (the six views and the neck label's close-up), so a wrong order
#: shows as wrong bytes.
ANGLE_COLORS = [(230, 30, 30), (30, 200, 30), (30, 30, 230), (220, 220, 20), (20, 200, 200),
                (200, 20, 200), (120, 60, 10)]


def png_bytes(color: tuple[int, int, int], size: int = 16, mark: int = 0) -> bytes:
    image = Image.new("RGB", (size, size), color)
    image.putpixel((0, 0), (mark % 256, mark // 256 % 256, 7))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def medusa_env() -> dict[str, str]:
    url = os.environ.get("MEDUSA_TEST_URL")
    key = os.environ.get("MEDUSA_TEST_API_KEY")
    if not url or not key:
        if os.environ.get("CI"):
            pytest.fail("MEDUSA_TEST_URL / MEDUSA_TEST_API_KEY are not set in CI; run "
                        '`eval "$(.ci/medusa)"` first.')
        pytest.skip('no Medusa to test against (start one with eval "$(.ci/medusa)")')
    return {"url": url.rstrip("/"), "key": key,
            "email": os.environ.get("MEDUSA_TEST_EMAIL", ""),
            "password": os.environ.get("MEDUSA_TEST_PASSWORD", "")}




@pytest.fixture
def make_app(data_dir: Path, monkeypatch: pytest.MonkeyPatch
             ) -> Iterator[Callable[..., tuple[Flask, MediaPusher | None]]]:
    """An app on the test data directory with the push configured from `config`; its Huey
    queues run tasks immediately (a scheduled retry waits in the in-memory schedule)."""
    for name in ("MEDUSA_URL", "MEDUSA_API_KEY", "MEDUSA_EMAIL", "MEDUSA_PASSWORD",
                 "TSHIRT_MEDIA_REPLACE", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    apps: list[Flask] = []

    def make(immediate: bool = True, **config: Any) -> tuple[Flask, MediaPusher | None]:
        app = create_app({"TESTING": True, "TSHIRT_DATA_DIR": str(data_dir),
                          "TSHIRT_API_TOKENS": TOKEN, "TSHIRT_DEV_MODE": False,
                          "TSHIRT_MEDIA_TIMEOUT_S": 5, **config})
        runtime = get_queue(app)
        runtime.render_huey.immediate = True
        runtime.maintenance_huey.immediate = immediate
        runtime.render_huey.enqueue = lambda task: None  # no renders here: jobs are made
        pusher = app.extensions.get(MEDIA_EXTENSION)
        apps.append(app)
        return app, pusher

    yield make
    for app in apps:
        app.extensions["tshirt"].db.dispose()


def completed_job(app: Flask, product_id: str, *, preset: str = "chest-medium",
                  color: str = "#1b2a4a", mark: int = 0, animation: bool = True,
                  angles: tuple[str, ...] = ANGLE_IDS) -> str:
    """A completed render with real small PNG outputs, made through the service's functions
    (no Blender): the job is reported by the add-on, its outputs written to its folder, and it
    goes `rendering -> completed` with the outputs recorded. `color` may be a comma list: each
    colour's outputs are then in its folder, as a several-colour render writes them, and each
    colour's stills differ; `angles` are the stills it has. Returns the job id."""
    service = app.extensions["tshirt"]
    design = png_bytes((10, 10, 10), mark=mark)
    info = DesignInfo(kind="png", width=16, height=16, size_bytes=len(design),
                      sha256=hashlib.sha256(design).hexdigest())
    with service.db.session() as session:
        options = forms.parse_options(session, {"color": color}, [preset])
        job_print = JobPrint(PrintSpec("design.png", preset),
                             Design(info=info, name="design.png", data=design))
        job = commands.create_job(session, service.storage, product_id=product_id,
                                  options=options, prints=[job_print], source=JobSource.BLENDER)
        job_id = job.id
        out_dir = service.storage.outputs_dir(job_id)
        outputs = []
        several = bool(options.colors)

        def write(kind: str, angle: str | None, name: str, data: bytes, color: str) -> None:
            path = f"{out_dir}/{name}"
            service.storage.write_bytes(path, data)
            outputs.append({"kind": kind, "angle": angle, "frame": None, "file": name,
                            "width": 16, "height": 16, "size_bytes": len(data),
                            "sha256": hashlib.sha256(data).hexdigest(), "path": path,
                            **({"color": color} if several else {})})

        for shade, hex_color in enumerate(options.colors or (options.color,)):
            folder = f"{color_dir(hex_color)}/" if several else ""
            for angle in angles:
                write("still", angle, f"{folder}{angle}.png",
                      png_bytes(ANGLE_COLORS[STILL_IDS.index(angle)], mark=mark + 1000 * shade),
                      hex_color)
            if animation:
                write("animation", None, f"{folder}turntable.mp4",
                      b"\x00\x00\x00\x18ftypmp42" + uuid.uuid4().bytes * 4, hex_color)
        stills = sum(1 for o in outputs if o["kind"] == "still")
        transitions.transition(session, job_id, JobStatus.COMPLETED, outputs=outputs,
                                stage="done", images_done=stills, images_total=stills)
    return job_id


def output_bytes(app: Flask, job_id: str, angle: str) -> bytes:
    service = app.extensions["tshirt"]
    return service.storage.path(f"{service.storage.outputs_dir(job_id)}/{angle}.png").read_bytes()


class Medusa:
    """A thin admin client for the tests' own setup and checks (not the code under test)."""

    def __init__(self, url: str, key: str) -> None:
        self.url = url
        self.http = requests.Session()
        self.http.auth = (key, "")

    def upload(self, *items: tuple[str, bytes]) -> list[dict[str, str]]:
        files = [("files", (name, data, "image/png")) for name, data in items]
        response = self.http.post(f"{self.url}/admin/uploads", files=files, timeout=30)
        response.raise_for_status()
        return response.json()["files"]

    def create_product(self, image_urls: list[str]) -> dict[str, Any]:
        title = f"Test tee {uuid.uuid4().hex[:8]}"
        body = {"title": title, "options": [{"title": "Size", "values": ["M"]}],
                "images": [{"url": u} for u in image_urls],
                "thumbnail": image_urls[0] if image_urls else None,
                "metadata": {"owner": "shop"}}
        response = self.http.post(f"{self.url}/admin/products", json=body, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()["product"]

    def product(self, product_id: str) -> dict[str, Any]:
        response = self.http.get(f"{self.url}/admin/products/{product_id}",
                                 params={"fields": "id,thumbnail,metadata,*images"}, timeout=30)
        response.raise_for_status()
        product = response.json()["product"]
        product["images"] = sorted(product["images"], key=lambda i: i.get("rank") or 0)
        return product

    def fetch(self, url: str) -> requests.Response:
        return requests.get(url, timeout=30)


@pytest.fixture
def medusa() -> Medusa:
    env = medusa_env()
    return Medusa(env["url"], env["key"])


class Gate:
    """A TCP forwarder in front of the real Medusa that can be closed and opened: "the store is
    down" as the service sees it (connection refused), without restarting Medusa."""

    def __init__(self, target: str) -> None:
        host, port = target.split("//", 1)[1].split(":")
        self.target = (host, int(port.split("/")[0]))
        self.port = 0
        self._server: socket.socket | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def open(self) -> None:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(16)
        server.settimeout(0.1)
        self.port = server.getsockname()[1]
        self._server = server
        self._stop.clear()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
        if self._server is not None:
            self._server.close()
            self._server = None

    def _accept(self) -> None:
        assert self._server is not None
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_config(request: pytest.FixtureRequest) -> dict[str, str]:
    """App configuration for each database the service supports: the data directory's SQLite
    (nothing to add), or a private, migrated schema of the test PostgreSQL database."""
    if request.param == "sqlite":
        return {}
    return {"DATABASE_URL": request.getfixturevalue("postgres_database_url")}
