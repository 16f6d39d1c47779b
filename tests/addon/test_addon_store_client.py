"""Sending a finished render to the sync service (plain Python against a fake service)."""

from __future__ import annotations

import socket

import pytest
from addon_fake_store import TOKEN, FakeStore

from blender_addon.core import store_client
from shared import http
from shared.errors import InvalidInput, SyncFailed


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
