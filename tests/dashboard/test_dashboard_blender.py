"""A real render's turntable plays in the browser: the fake renderer's video is only bytes, so
this one renders the sample with real Blender (the `bpy` wheel) at the queue tests' tiny
settings and lets Chromium decode the MP4 the dashboard serves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from common_helpers import free_port
from dashboard_helpers import log_in
from queue_helpers import poll, upload, wait_http
from selenium.webdriver.remote.webdriver import WebDriver

pytest.importorskip("bpy", reason="needs the bpy wheel (the 'blender' extra)")
pytestmark = pytest.mark.blender


def test_the_turntable_of_a_real_render_plays(spawn: Any, browser: WebDriver,
                                              tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = spawn("serve", ["serve", "--port", str(port), "--workers", "1"],
                   TSHIRT_DATA_DIR=str(tmp_path / "data"))
    wait_http(base, server)
    job = upload(base)
    done = poll(base, job["id"], lambda j: j["status"] in ("completed", "failed"), timeout=300)
    assert done["status"] == "completed", done
    log_in(browser, base)
    browser.get(f"{base}/dashboard/jobs/{job['id']}")
    browser.set_script_timeout(20)
    played = browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const video = document.getElementById('turntable');
        const check = () => {
          if (video.error) { return done({error: video.error.code}); }
          if (video.readyState >= 2 && video.currentTime > 0) {
            return done({width: video.videoWidth, duration: video.duration});
          }
          setTimeout(check, 50);
        };
        check();""")
    animation = next(o for o in done["outputs"] if o["kind"] == "animation")
    assert played.get("width") == animation["width"], played  # decoded, and playing
    assert played["duration"] > 0
