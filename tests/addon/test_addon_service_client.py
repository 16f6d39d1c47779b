"""The add-on's sync service client and its worker threads, in plain Python (no Blender).

The client talks to a real `tshirt-service serve` on loopback (``conftest.live_service``); the
thread plumbing of ``service_tasks`` is checked against a scripted stand-in client.
"""

from __future__ import annotations

import threading

import pytest
from addon_harness import SERVICE_TOKEN
from addon_pngs import write_png
from common_helpers import free_port

from blender_addon.core import service_tasks, store_client
from shared import http
from shared.errors import InvalidInput, SyncFailed
from shared.prints import PrintSpec


@pytest.fixture
def client(live_service) -> store_client.StoreClient:
    return store_client.StoreClient(live_service.url, SERVICE_TOKEN)


def offline_client() -> store_client.StoreClient:
    """A client for a port nobody listens on, which gives up at once."""
    return store_client.StoreClient(f"http://127.0.0.1:{free_port()}", SERVICE_TOKEN,
                                    session=http.session_with_retries("test", retries=0))


# -- the client against the real service -------------------------------------------------------


def test_connection_check_is_one_sentence_for_each_case(live_service, client):
    assert client.check_connection() == store_client.ConnectionCheck(
        True, True, "The sync service answered and accepted the token.")
    wrong = store_client.StoreClient(live_service.url, "nope").check_connection()
    assert (wrong.answered, wrong.token_ok) == (True, False)
    assert wrong.message == "The sync service answered but refused the token."
    down = offline_client().check_connection()
    assert not down.answered and down.message.endswith("did not answer.")


def test_reported_render_downloads_back_with_checked_checksums(client, render_dir, tmp_path):
    job = client.report_render(render_dir, "prod_client")
    assert job["status"] == "completed" and job["source"] == "blender"
    again = client.get_job(job["id"])
    saved = client.download_outputs(again, tmp_path / "cache")
    assert sorted(p.name for p in saved) == ["back_180deg.png", "front_0deg.png"]
    for path in saved:
        assert path.read_bytes() == (render_dir / path.name).read_bytes()
    assert job["id"] in [j["id"] for j in client.product_jobs("prod_client")]

    damaged = dict(again, outputs=[dict(o, sha256="0" * 64) for o in again["outputs"]])
    with pytest.raises(SyncFailed, match="arrived damaged"):
        client.download_outputs(damaged, tmp_path / "other")
    assert list((tmp_path / "other").iterdir()) == []  # no partial file left


def test_submit_cancel_and_retry(client, render_dir, tmp_path):
    completed = client.report_render(render_dir, "prod_client")
    fields = {"product_id": "prod_client", "color": "red", "animation": "false"}
    design = str(write_png(tmp_path / "d.png", 40, 40))
    job = client.submit_job([PrintSpec(design, "chest-small")], fields)
    assert job["status"] == "pending" and job["source"] == "api"
    cancelled = client.cancel_job(job["id"])
    assert cancelled["status"] in ("cancelled", "completed")
    if cancelled["status"] == "cancelled":
        retry = client.retry_job(job["id"])
        assert retry["retried_from"] == job["id"] and retry["status"] == "pending"
        client.cancel_job(retry["id"])
    with pytest.raises(SyncFailed, match="Only failed or cancelled"):
        client.retry_job(completed["id"])


def test_a_job_of_several_prints_is_queued_with_each(client, tmp_path):
    front = str(write_png(tmp_path / "front.png", 40, 40))
    back = str(write_png(tmp_path / "back.png", 60, 30))
    job_prints = [PrintSpec(front, "chest-left"), PrintSpec(back, "back-large", (0.0, 4.0), 0.5),
                  PrintSpec(front, "back-bottom-small", rotation_deg=90.0)]
    job = client.submit_job(job_prints, {"product_id": "prod_client", "color": "navy",
                                         "animation": "false"})
    try:
        assert [p["preset"] for p in job["prints"]] == ["chest-left", "back-large",
                                                        "back-bottom-small"]
        assert job["prints"][1]["offset_cm"] == [0.0, 4.0]
        assert service_tasks.preset_label(job) == "chest-left +2"
    finally:
        client.cancel_job(job["id"])


def test_errors_are_sentences(live_service, client):
    with pytest.raises(SyncFailed, match="refused the token"):
        store_client.StoreClient(live_service.url, "nope").product_jobs("prod_client")
    with pytest.raises(SyncFailed, match="Could not reach the sync service"):
        offline_client().get_job("x")
    with pytest.raises(SyncFailed) as info:
        client.get_job("rjob_nope")
    assert info.value.message.endswith(".") and "\n" not in info.value.message
    with pytest.raises(InvalidInput, match="Invalid product id"):
        client.product_jobs("../etc")


# -- the worker threads --------------------------------------------------------------------------


class ScriptedClient:
    """Answers ``get_job`` from a script; an exception in the script is raised."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.downloads = []

    def get_job(self, job_id):
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def download_outputs(self, job, folder):
        self.downloads.append(folder)
        return []


def test_follow_job_posts_each_state_then_the_images():
    jobs = [{"id": "j", "status": s, "progress": p} for s, p in
            (("pending", 0), ("rendering", 50), ("completed", 100))]
    posted = []
    client = ScriptedClient([jobs[0], SyncFailed("blip"), jobs[1], jobs[2]])
    service_tasks.follow_job(client, "farm", "Scene", "j", posted.append, threading.Event(),
                             download_to="/tmp/x", interval=0)
    assert [m.job["status"] for m in posted[:-1]] == ["pending", "rendering", "completed"]
    assert isinstance(posted[-1], service_tasks.JobImages) and client.downloads == ["/tmp/x"]


def test_following_gives_up_after_repeated_failures():
    client = ScriptedClient([SyncFailed("Could not reach the sync service at x.")])
    with pytest.raises(SyncFailed, match="Lost contact with the sync service"):
        service_tasks.follow_job(client, "farm", "S", "j", [].append, threading.Event(),
                                 interval=0)


def test_tasks_run_one_per_topic_and_turn_errors_into_messages():
    tasks = service_tasks.Tasks()
    gate = threading.Event()

    def slow(post, stop):
        gate.wait(5)
        raise SyncFailed("The sync service answered HTTP 500.")

    assert tasks.start("farm", "S", slow)
    assert not tasks.start("farm", "S", slow)  # one at a time
    gate.set()
    tasks.join("farm")
    assert tasks.drain() == [service_tasks.Failed("farm", "S",
                                                  "The sync service answered HTTP 500.", True)]
    assert tasks.start("farm", "S", lambda post, stop: 1 / 0)
    tasks.join("farm")
    (failed,) = tasks.drain()
    assert failed.message == "Unexpected error (ZeroDivisionError); see the console."
    tasks.stop_all()


def test_small_helpers():
    with pytest.raises(InvalidInput, match="product id"):
        service_tasks.farm_fields(product_id="", color="#fff", template="classic-tee",
                                  quality="preview", animation=False, background="transparent")
    assert service_tasks.short_time("2026-11-28T16:46:00.175551Z") == "11-28 16:46"
    assert service_tasks.colour_label({"color": "#1f2a44", "colors": ["#1f2a44"]}) == "#1f2a44"
    assert service_tasks.colour_label({"color": "#1f2a44"}) == "#1f2a44"  # an older service
    assert service_tasks.colour_label(
        {"color": "#c8102e", "colors": ["#c8102e", "#1f2a44", "#ffffff"]}) == "#c8102e +2"
    assert service_tasks.preset_label({"preset": "back-large"}) == "back-large"
    assert service_tasks.preset_label({"preset": "chest-left", "prints": [
        {"preset": "chest-left"}, {"preset": "back-large"}]}) == "chest-left +1"
    assert service_tasks.preset_label({"prints": [{"preset": "sleeve-left"}]}) == "sleeve-left"
    assert service_tasks.preset_label({}) == ""
    assert service_tasks.progress_sentence(
        {"status": "rendering", "progress": 42, "stage": "stills"}) == "Rendering 42% (stills)"
    assert service_tasks.progress_sentence(
        {"status": "failed", "error": {"message": "Boom."}}) == "Failed: Boom."
