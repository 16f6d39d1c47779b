"""Take the README's dashboard screenshots from a real render (not a test; run it by hand):

    .venv/bin/python tests/dashboard/screenshots.py [OUT_DIR]   # default: docs/

Starts `tshirt-service serve` on loopback with the real renderer (the `bpy` module), renders
the bundled sample at preview quality in two colours (and cancels a third job, so the list
shows more than one state), then photographs the job list and the first job's page in headless
Chromium and writes them as small palette PNGs: `dashboard-list.png`, `dashboard-job.png`.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent), str(HERE.parent / "queue"), str(HERE.parents[1])]

from common_helpers import free_port  # noqa: E402
from dashboard_helpers import CHROMIUM_FLAGS  # noqa: E402
from PIL import Image  # noqa: E402
from queue_helpers import AUTH, TOKEN, Proc, http, poll, upload, wait_http  # noqa: E402
from selenium import webdriver  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

WIDTH = 1100


def shrink(png: bytes, path: Path) -> None:
    """A screenshot as a 128-colour PNG: a page is flat colour, so it stays sharp and small."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    image.quantize(128, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    print(f"{path}: {image.width} x {image.height}, {path.stat().st_size // 1024} KB")


def main(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="dashboard-shots-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(HERE.parents[1]), "TSHIRT_API_TOKENS": TOKEN,
           "TSHIRT_DATA_DIR": str(folder / "data"), "TSHIRT_QUEUE_NAME": f"shots{port}"}
    server = Proc(["serve", "--port", str(port), "--workers", "1"], env, folder / "serve.log")
    try:
        wait_http(base, server)
        jobs = [upload(base, product_id="tee-classic-logo", preset="chest-medium",
                       color=color, quality="preview") for color in ("#1f2a44", "#ffffff")]
        spare = upload(base, product_id="tee-back-print", preset="back-large", color="#c8102e")
        http("POST", f"{base}/admin/render-jobs/{spare['id']}/cancel", headers=AUTH)
        for job in jobs:
            done = poll(base, job["id"], lambda j: j["status"] in ("completed", "failed"),
                        timeout=1800)
            assert done["status"] == "completed", done
        options = webdriver.ChromeOptions()
        options.binary_location = os.environ.get("TSHIRT_CHROMIUM", "/usr/bin/chromium")
        for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={folder / 'profile'}",
                     f"--window-size={WIDTH},900", "--hide-scrollbars"):
            options.add_argument(flag)
        service = webdriver.ChromeService(
            executable_path=os.environ.get("TSHIRT_CHROMEDRIVER", "/usr/bin/chromedriver"))
        browser = webdriver.Chrome(options=options, service=service)
        try:
            browser.get(f"{base}/dashboard/login")
            browser.find_element(By.NAME, "token").send_keys(TOKEN)
            browser.find_element(By.CSS_SELECTOR, "#login button").click()
            time.sleep(1)
            shrink(browser.get_screenshot_as_png(), out / "dashboard-list.png")
            browser.get(f"{base}/dashboard/jobs/{jobs[0]['id']}")
            state = browser.execute_async_script("""
                const done = arguments[arguments.length - 1];
                const video = document.getElementById('turntable');
                const check = () => video.readyState >= 2
                    ? done([video.readyState, video.videoWidth, video.duration])
                    : setTimeout(check, 100);
                check();""")
            print(f"turntable: readyState {state[0]}, {state[1]} px wide, {state[2]:.1f} s")
            height = browser.execute_script("return document.documentElement.scrollHeight")
            browser.set_window_size(WIDTH, min(height, 2400))
            time.sleep(0.5)
            shrink(browser.get_screenshot_as_png(), out / "dashboard-job.png")
        finally:
            browser.quit()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parents[1] / "docs"))
