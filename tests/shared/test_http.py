"""The one HTTP session factory and the one outputs upload, against a real server on loopback."""

from __future__ import annotations

import hashlib
import threading
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from shared.backoff import backoff_delay
from shared.contracts import MANIFEST_NAME, Manifest, OutputFile, RenderSpec
from shared.http import (
    IDEMPOTENCY_HEADER,
    media_type,
    post_outputs,
    project_version,
    session_with_retries,
)
from shared.prints import PrintSpec

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Script:
    """What the server answers, one entry per request (the last one repeats): (status,
    headers, delay before answering)."""

    answers: list[tuple[int, dict[str, str], float]] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next(self, request: Seen) -> tuple[int, dict[str, str], float]:
        with self.lock:
            self.seen.append(request)
            index = min(len(self.seen), len(self.answers)) - 1
            return self.answers[index]


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    script = Script(answers=[(200, {}, 0.0)])

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, headers, delay = script.next(
                Seen(self.command, self.path, dict(self.headers.items()), body))
            time.sleep(delay)
            payload = b'{"ok": true}'
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (the time-out tests)

        do_GET = do_POST = do_PUT = _answer

        def log_message(self, *_args: object) -> None:
            return None

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", script
    finally:
        httpd.shutdown()
        httpd.server_close()


def fast_session(**kwargs: object) -> requests.Session:
    return session_with_retries("test-client", backoff_s=0.01, **kwargs)  # type: ignore[arg-type]


def test_user_agent_names_project_version_and_component(server):
    url, script = server
    with fast_session() as session:
        assert session.get(url + "/x").status_code == 200
    agent = script.seen[0].headers["User-Agent"]
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert agent.startswith(f"tshirt-render/{version} (test-client; python-requests/")
    assert project_version() == version


def test_get_is_retried_on_5xx_and_429_until_it_succeeds(server):
    url, script = server
    script.answers = [(503, {}, 0.0), (429, {}, 0.0), (502, {}, 0.0), (200, {}, 0.0)]
    with fast_session(retries=3) as session:
        assert session.get(url + "/x").status_code == 200
    assert [s.method for s in script.seen] == ["GET"] * 4


def test_the_last_error_answer_is_returned_once_retries_are_spent(server):
    url, script = server
    script.answers = [(500, {}, 0.0)]
    with fast_session(retries=2) as session:
        response = session.get(url + "/x")
    assert response.status_code == 500
    assert len(script.seen) == 3


def test_a_client_error_is_not_retried(server):
    url, script = server
    script.answers = [(404, {}, 0.0)]
    with fast_session() as session:
        assert session.get(url + "/x").status_code == 404
    assert len(script.seen) == 1


def test_retry_after_is_honoured(server):
    url, script = server
    script.answers = [(503, {"Retry-After": "1"}, 0.0), (200, {}, 0.0)]
    started = time.monotonic()
    with fast_session() as session:
        assert session.get(url + "/x").status_code == 200
    # The back-off alone would have waited 0.01 s.
    assert time.monotonic() - started >= 0.9
    assert len(script.seen) == 2


def test_a_post_without_an_idempotency_key_is_sent_once(server):
    url, script = server
    script.answers = [(503, {}, 0.0), (200, {}, 0.0)]
    with fast_session() as session:
        assert session.post(url + "/jobs", data={"a": "1"}).status_code == 503
    assert [s.method for s in script.seen] == ["POST"]


def test_a_post_with_an_idempotency_key_is_retried_with_its_body(server):
    url, script = server
    script.answers = [(503, {}, 0.0), (500, {}, 0.0), (201, {}, 0.0)]
    with fast_session() as session:
        response = session.post(url + "/jobs", data={"a": "1"},
                                headers={IDEMPOTENCY_HEADER: "job-1"})
    assert response.status_code == 201
    assert len(script.seen) == 3
    assert {s.headers[IDEMPOTENCY_HEADER] for s in script.seen} == {"job-1"}
    assert {s.body for s in script.seen} == {b"a=1"}


def test_every_request_has_a_default_timeout(server):
    url, script = server
    script.answers = [(200, {}, 1.0)]
    with session_with_retries("test-client", timeout=(1.0, 0.2), retries=0) as session:
        started = time.monotonic()
        # A spent retry budget wraps the time-out in a ConnectionError.
        with pytest.raises(requests.RequestException, match="Read timed out"):
            session.get(url + "/slow")
    assert time.monotonic() - started < 0.9


def test_a_read_timeout_is_retried_for_get_but_not_for_an_unkeyed_post(server):
    url, script = server
    script.answers = [(200, {}, 0.6)]
    with session_with_retries("test-client", timeout=(1.0, 0.2), retries=2,
                              backoff_s=0.01) as session:
        with pytest.raises(requests.ConnectionError):
            session.get(url + "/slow")
        assert len(script.seen) == 3
        with pytest.raises(requests.Timeout):
            session.post(url + "/slow", data=b"x")
    assert len(script.seen) == 4


def test_an_explicit_timeout_wins_over_the_default(server):
    url, script = server
    script.answers = [(200, {}, 0.5)]
    with session_with_retries("test-client", timeout=(1.0, 0.1), retries=0) as session:
        assert session.get(url + "/slow", timeout=(1.0, 3.0)).status_code == 200


def _finished_render(folder: Path) -> Path:
    outputs = []
    for name, data in (("front_0deg.png", b"\x89PNG front"), ("turntable.mp4", b"mp4 bytes")):
        (folder / name).write_bytes(data)
        outputs.append(OutputFile(
            kind="still" if name.endswith(".png") else "animation", file=name, width=4,
            height=4, sha256=hashlib.sha256(data).hexdigest(), size_bytes=len(data),
            angle="front_0deg" if name.endswith(".png") else None))
    spec = RenderSpec(prints=(PrintSpec("d.png", "chest-medium"),), color="#ffffff",
                      output_dir=str(folder))
    manifest = Manifest(spec=spec, blender_version="5.0.1", outputs=tuple(outputs),
                        timings={"total": 1.0}, created_at="2025-01-01T00:00:00Z")
    (folder / MANIFEST_NAME).write_text(manifest.to_json(), encoding="utf-8")
    return folder


def test_post_outputs_sends_the_manifest_and_every_listed_file(server, tmp_path):
    url, script = server
    folder = _finished_render(tmp_path)
    (folder / "stray.txt").write_text("not listed")
    with fast_session() as session:
        response = post_outputs(session, url + "/admin/render-jobs/j1/outputs", folder)
    assert response.status_code == 200
    [seen] = script.seen
    assert seen.path == "/admin/render-jobs/j1/outputs"
    assert IDEMPOTENCY_HEADER not in seen.headers
    body = seen.body
    manifest_text = (folder / MANIFEST_NAME).read_bytes()
    assert manifest_text in body
    assert b'name="files"; filename="front_0deg.png"\r\nContent-Type: image/png' in body
    assert b'name="files"; filename="turntable.mp4"\r\nContent-Type: video/mp4' in body
    assert b"\x89PNG front" in body and b"mp4 bytes" in body
    assert b"not listed" not in body


def test_post_outputs_with_a_key_is_retried(server, tmp_path):
    url, script = server
    script.answers = [(502, {}, 0.0), (200, {}, 0.0)]
    folder = _finished_render(tmp_path)
    with fast_session() as session:
        response = post_outputs(session, url + "/o", folder, idempotency_key="j1/outputs")
    assert response.status_code == 200
    assert len(script.seen) == 2
    assert script.seen[0].body == script.seen[1].body


def test_post_outputs_refuses_a_missing_file_before_sending(server, tmp_path):
    url, script = server
    folder = _finished_render(tmp_path)
    (folder / "turntable.mp4").unlink()
    with fast_session() as session, pytest.raises(OSError):
        post_outputs(session, url + "/o", folder)
    assert script.seen == []


@pytest.mark.parametrize(("name", "expected"), [
    ("a.png", "image/png"), ("A.JPG", "image/jpeg"), ("b.jpeg", "image/jpeg"),
    ("t.mp4", "video/mp4"), ("x.webp", "image/webp"), ("notes.txt", "application/octet-stream"),
])
def test_media_type(name, expected):
    assert media_type(name) == expected


def test_backoff_doubles_from_the_base_and_respects_the_cap():
    assert [backoff_delay(n, 30) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff_delay(0, 30) == 30
    assert [backoff_delay(n, 30, 100) for n in (1, 2, 3)] == [30, 60, 100]
    assert backoff_delay(10_000, 1.0, 900) == 900
