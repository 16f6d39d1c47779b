"""Sending a finished render to the sync service (plain Python against a fake service)."""

from __future__ import annotations

import json
import socket
from dataclasses import replace
from pathlib import Path

import pytest
from addon_fake_store import TOKEN, FakeStore
from addon_pngs import write_png

from blender_addon.core import store_client
from shared import http
from shared.contracts import Manifest, RenderSpec
from shared.errors import InvalidInput, SyncFailed
from shared.prints import PrintSpec


def test_a_render_is_reported_as_a_job_then_its_outputs(render_dir):
    with FakeStore() as store:
        job = store_client.StoreClient(store.url + "/", TOKEN).report_render(render_dir, "prod_9")
    assert job == {"id": "job_1", "status": "completed"}
    create, outputs = store.requests
    assert create["path"] == "/admin/render-jobs"
    assert create["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert create["headers"]["User-Agent"] == http.user_agent(store_client.COMPONENT)
    body = create["body"]
    for name, value in [("product_id", b"prod_9"), ("source", b"blender"),
                        ("preset", b"back-large"), ("color", b"#1f2a44"),
                        ("animation", b"false"), ("template_id", b"classic-tee")]:
        assert f'name="{name}"'.encode() + b"\r\n\r\n" + value in body, name
    assert b'name="design"; filename="logo.png"' in body and b"Content-Type: image/png" in body
    assert outputs["path"] == "/admin/render-jobs/job_1/outputs"
    assert b'name="manifest"' in outputs["body"]
    assert outputs["body"].count(b'name="files"') == 2
    assert b'filename="front_0deg.png"' in outputs["body"]


def _form(body: bytes) -> dict[str, bytes]:
    """The multipart body's parts by name (a file part: its bytes)."""
    parts = {}
    for chunk in body.split(b"\r\n--")[:-1]:
        head, _, value = chunk.partition(b"\r\n\r\n")
        name = head.split(b'name="', 1)[1].split(b'"', 1)[0].decode()
        parts[name] = value
    return parts


def test_several_prints_travel_as_one_part_per_design_and_a_prints_field(render_dir, tmp_path):
    manifest = Manifest.load(render_dir)
    logo = manifest.spec.prints[0].design
    back = str(write_png(tmp_path / "back.png", 30, 60, (0, 200, 0, 255)))
    job_prints = [{"design": logo, "preset": "chest-left"},
                  {"design": back, "preset": "back-large", "offset_cm": [0, 5], "scale": 0.5},
                  {"design": logo, "preset": "sleeve-left", "rotation_deg": 90}]
    spec = RenderSpec.from_dict({**manifest.spec.to_dict(), "prints": job_prints})
    (render_dir / "manifest.json").write_text(replace(manifest, spec=spec).to_json())
    with FakeStore() as store:
        store_client.StoreClient(store.url, TOKEN).report_render(render_dir, "prod_9")
    form = _form(store.requests[0]["body"])
    assert "design" not in form and "preset" not in form
    assert form["design_1"] == Path(logo).read_bytes()
    assert form["design_2"] == Path(back).read_bytes()
    assert "design_3" not in form  # the logo printed twice is sent once
    assert json.loads(form["prints"]) == [
        {"file": "design_1", "preset": "chest-left", "offset_cm": [0.0, 0.0], "scale": 1.0,
         "rotation_deg": 0.0},
        {"file": "design_2", "preset": "back-large", "offset_cm": [0.0, 5.0], "scale": 0.5,
         "rotation_deg": 0.0},
        {"file": "design_1", "preset": "sleeve-left", "offset_cm": [0.0, 0.0], "scale": 1.0,
         "rotation_deg": 90.0}]
    assert form["color"] == b"#1f2a44" and form["source"] == b"blender"


def test_one_moved_print_travels_in_the_prints_shape(tmp_path):
    design = str(write_png(tmp_path / "d.png", 20, 20))
    fields, files = store_client.print_parts([PrintSpec(design, "chest-small", (0.0, 2.0))])
    assert list(files) == ["design_1"] and json.loads(fields["prints"])[0]["offset_cm"] == [0, 2]
    fields, files = store_client.print_parts([PrintSpec(design, "chest-small")])
    assert fields == {"preset": "chest-small"} and list(files) == ["design"]
    with pytest.raises(InvalidInput, match="Add a print"):
        store_client.print_parts([])


def test_the_services_message_is_the_error(render_dir):
    with FakeStore() as store:
        with pytest.raises(SyncFailed, match="refused the token"):
            store_client.StoreClient(store.url, "wrong").report_render(render_dir, "prod_9")
        assert len(store.requests) == 1  # nothing uploaded after a refusal


def test_an_unreachable_service_is_one_sentence(render_dir):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = store_client.StoreClient(f"http://127.0.0.1:{port}", TOKEN,
                                      session=http.session_with_retries("test", retries=0))
    with pytest.raises(SyncFailed, match="Could not reach the sync service"):
        client.report_render(render_dir, "prod_9")


@pytest.mark.parametrize(("url", "token", "message"), [
    ("", TOKEN, "Set the sync service URL"),
    ("ftp://x", TOKEN, "Set the sync service URL"),
    ("http://x", "", "Set the sync service token"),
])
def test_settings_are_checked_before_any_request(url, token, message):
    with pytest.raises(InvalidInput, match=message):
        store_client.StoreClient(url, token)


def test_no_render_no_request(tmp_path):
    with FakeStore() as store:
        client = store_client.StoreClient(store.url, TOKEN)
        with pytest.raises(InvalidInput, match="No finished render"):
            client.report_render(tmp_path, "prod_9")
        with pytest.raises(InvalidInput, match="Invalid product id"):
            client.report_render(tmp_path, "../x")
        assert store.requests == []
