"""The add-on tests' harness: the live service's handle and the Blender scenario runner.

Kept out of conftest.py so test modules import it by a name of its own: `from conftest import`
picks whichever directory's conftest pytest loaded last when several test folders run at once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import requests

SERVICE_TOKEN = "testtoken"
#: Tiny farm renders: 64 px stills at 1 sample, a 4-frame turntable rendered directly.
TINY_RENDERS = {"resolution": 64, "samples": 1, "frames": 4, "turntable_method": "path"}


class LiveService:
    def __init__(self, url: str, process: subprocess.Popen, log: Path) -> None:
        self.url = url
        self.process = process
        self.log = log

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def get(self, path: str, **kwargs):
        return requests.get(self.url + path, timeout=10,
                            headers={"Authorization": f"Bearer {SERVICE_TOKEN}"}, **kwargs)



def run_scenario(name: str, built_zip: Path, tmp_path: Path, service: LiveService | None = None,
                 timeout: float = 240) -> dict:
    """Run one scenario of ``blender_scenarios.py`` in its own Blender process (with a throw-away
    ``BLENDER_USER_RESOURCES``, and the live service's URL and token when given) and return what
    it reported."""
    work = tmp_path / "work"
    work.mkdir()
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(tmp_path / "blender_user"))
    env.pop("PYTHONPATH", None)
    if service is not None:
        env.update(TSHIRT_TEST_SERVICE_URL=service.url, TSHIRT_TEST_SERVICE_TOKEN=SERVICE_TOKEN)
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve().parent / "blender_scenarios.py"), name,
         str(built_zip), str(work)],
        capture_output=True, text=True, timeout=timeout, env=env, cwd=tmp_path,
    )
    ok = [line for line in result.stdout.splitlines() if line.startswith("SCENARIO-OK ")]
    service_log = f"\n--- service\n{service.output()[-3000:]}" if service is not None else ""
    assert result.returncode == 0 and ok, (
        f"scenario {name} failed (exit {result.returncode})\n--- stdout\n{result.stdout[-4000:]}"
        f"\n--- stderr\n{result.stderr[-4000:]}{service_log}"
    )
    return json.loads(ok[-1].split(" ", 1)[1])
