"""The add-on in real Blender against a real sync service on loopback (issue 8).

The service is `tshirt-service serve` with its embedded queue (see ``conftest.live_service``);
each scenario installs the built zip in a fresh Blender process (``blender_scenarios.py``) and
drives the timer that applies the worker threads' messages by hand, as Blender's event loop
would.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SERVICE_TOKEN

pytest.importorskip("bpy", reason="needs the bpy wheel (the 'blender' extra)")

HERE = Path(__file__).resolve().parent
pytestmark = pytest.mark.blender


def run_service_scenario(name: str, built_zip: Path, tmp_path: Path, service,
                         timeout: float = 300) -> dict:
    work = tmp_path / "work"
    work.mkdir()
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(tmp_path / "blender_user"),
               TSHIRT_TEST_SERVICE_URL=service.url, TSHIRT_TEST_SERVICE_TOKEN=SERVICE_TOKEN)
    env.pop("PYTHONPATH", None)
    result = subprocess.run(
        [sys.executable, str(HERE / "blender_scenarios.py"), name, str(built_zip), str(work)],
        capture_output=True, text=True, timeout=timeout, env=env, cwd=tmp_path,
    )
    ok = [line for line in result.stdout.splitlines() if line.startswith("SCENARIO-OK ")]
    assert result.returncode == 0 and ok, (
        f"scenario {name} failed (exit {result.returncode})\n--- stdout\n{result.stdout[-4000:]}"
        f"\n--- stderr\n{result.stderr[-4000:]}\n--- service\n{service.output()[-3000:]}"
    )
    return json.loads(ok[-1].split(" ", 1)[1])


def test_send_to_store_down_wrong_token_then_sent_with_matching_checksums(
        built_zip, tmp_path, live_service):
    info = run_service_scenario("service_store", built_zip, tmp_path, live_service)
    messages = info["messages"]
    assert "kept in" in messages["send_down"] and "send it again later" in messages["send_down"]
    assert "refused the token" in messages["send_token"]
    assert live_service.get(f"/admin/render-jobs/{info['job']}").json()["status"] == "completed"


@pytest.mark.skipif(importlib.util.find_spec("sync_service.queue") is None,
                    reason="the sync service has no render queue yet (issue 6)")
def test_render_on_the_farm_followed_cancelled_retried_and_opened(
        built_zip, tmp_path, live_service):
    info = run_service_scenario("service_farm", built_zip, tmp_path, live_service)
    assert info["seen"][-1][0] == "DONE"
