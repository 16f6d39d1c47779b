"""The add-on in real Blender against a real sync service on loopback (issue 8).

The service is `tshirt-service serve` with its embedded queue (see ``conftest.live_service``);
each scenario installs the built zip in a fresh Blender process (``blender_scenarios.py``) and
drives the timer that applies the worker threads' messages by hand, as Blender's event loop
would.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from addon_harness import run_scenario

pytest.importorskip("bpy", reason="needs the bpy wheel (the 'blender' extra)")

HERE = Path(__file__).resolve().parent
pytestmark = pytest.mark.blender


def test_send_to_store_down_wrong_token_then_sent_with_matching_checksums(
        built_zip, tmp_path, live_service):
    info = run_scenario("service_store", built_zip, tmp_path, live_service, timeout=300)
    messages = info["messages"]
    assert "kept in" in messages["send_down"] and "send it again later" in messages["send_down"]
    assert "refused the token" in messages["send_token"]
    assert live_service.get(f"/admin/render-jobs/{info['job']}").json()["status"] == "completed"


def test_render_on_the_farm_followed_cancelled_retried_and_opened(
        built_zip, tmp_path, live_service):
    info = run_scenario("service_farm", built_zip, tmp_path, live_service, timeout=300)
    assert info["seen"][-1][0] == "DONE"
