"""The dashboard in a real headless Chromium, against a real `tshirt-service serve` on loopback
whose queue runs the fake renderer: log in, submit a design (its print resolution shown before
the upload), watch the progress rise to completed, the six views and the turntable, cancel a
running job, add a second print row to the form, and see a wrong token and a post without its
CSRF token refused."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from dashboard_helpers import LiveService, click_through, log_in, page_state
from fake_renderer import pid_alive
from PIL import Image
from queue_helpers import AUTH, TOKEN, http, poll, upload, wait_for
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

RUNNING = ("compositing", "rendering")


def text_of(browser: WebDriver, selector: str) -> str:
    return browser.find_element(By.CSS_SELECTOR, selector).text


def wait_text(browser: WebDriver, selector: str, words: str, timeout: float = 10) -> str:
    return wait_for(lambda: words in text_of(browser, selector) and text_of(browser, selector),
                    timeout, f"{words!r} never showed in {selector}")


def design_file(folder: Path, width: int, height: int) -> Path:
    path = folder / f"design-{width}x{height}.png"
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    image.paste((200, 16, 46, 255), (width // 8, height // 8, width * 7 // 8, height * 7 // 8))
    image.save(path)
    return path


def test_a_wrong_token_is_refused_and_the_right_one_lets_in(
        live_service: LiveService, browser: WebDriver) -> None:
    log_in(browser, live_service.base, token=TOKEN + "-wrong")
    assert "That token is not valid." in text_of(browser, "[role=alert]")
    assert "/dashboard/login" in browser.current_url
    log_in(browser, live_service.base)
    assert browser.current_url == f"{live_service.base}/dashboard/"
    assert "Service healthy" in text_of(browser, ".health")
    cookie = browser.get_cookie("tshirt_session")
    assert cookie and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert TOKEN not in cookie["value"]
    assert browser.execute_script("return document.cookie") == ""  # scripts cannot read it


def test_submit_watch_it_render_and_open_the_job(live_service: LiveService,
                                                 browser: WebDriver, tmp_path: Path) -> None:
    base = live_service.base
    live_service.fake.set("ok", event_delay_s=0.5)  # about six seconds of rendering
    log_in(browser, base)
    browser.get(f"{base}/dashboard/new")
    browser.find_element(By.NAME, "product_id").send_keys("prod_browser")
    browser.find_element(By.NAME, "design").send_keys(str(design_file(tmp_path, 900, 900)))
    # Read in the browser before any upload: 900 px across 10 in is 90 DPI, across 4 in 224.
    facts = wait_text(browser, ".design-facts", "900 × 900 px")
    assert "90 DPI at Chest, medium" in facts and "blurry" in facts
    assert browser.find_element(By.CSS_SELECTOR, ".design-facts").get_attribute(
        "class") == "design-facts warning"
    Select(browser.find_element(By.NAME, "preset")).select_by_value("chest-small")
    assert "224 DPI at Chest, small" in wait_text(browser, ".design-facts", "Acceptable")
    click_through(browser, browser.find_element(By.CSS_SELECTOR, "#submit button[type=submit]"))
    assert "/dashboard/jobs/rjob_" in browser.current_url
    job_id = browser.current_url.rsplit("/", 1)[1]

    browser.get(f"{base}/dashboard/")
    seen: list[dict[str, Any]] = []

    def finished() -> bool:
        state = page_state(browser)
        seen.append(state)
        return state["status"] == "completed" and state["thumb"]

    wait_for(finished, 60, f"the row never showed a completed job: {seen[-3:]}")
    progress = [s["progress"] for s in seen]
    assert progress == sorted(progress), progress  # it only ever rose
    assert any(0 < p < 100 for p in progress), progress  # and was seen on its way
    assert progress[-1] == 100
    assert "rendering" in {s["status"] for s in seen}

    click_through(browser, browser.find_element(By.CSS_SELECTOR, f'[data-job="{job_id}"] a.thumb'))
    assert browser.current_url.endswith(f"/dashboard/jobs/{job_id}")
    views = browser.find_elements(By.CSS_SELECTOR, ".gallery img")
    assert len(views) == 6
    assert wait_for(lambda: all(browser.execute_script(
        "return arguments[0].complete && arguments[0].naturalWidth > 0", v) for v in views),
        10, "not every view loaded")
    assert [v.get_attribute("alt") for v in views][:2] == ["Front", "Left side"]
    video = browser.find_element(By.ID, "turntable")
    # The fake renderer's turntable is bytes, not a film: what can be checked is that the
    # element's source loads, with the browser's own cookie, as a video the size the manifest
    # says. (test_dashboard_blender.py plays a real one.)
    loaded = browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch(arguments[0].currentSrc || arguments[0].src, {credentials: 'same-origin'})
          .then(r => r.blob().then(b => done([r.status, r.headers.get('content-type'), b.size])))
          .catch(e => done(String(e)));""", video)
    api = http("GET", f"{base}/admin/render-jobs/{job_id}", headers=AUTH).json()
    turntable = next(o for o in api["outputs"] if o["kind"] == "animation")
    assert loaded == [200, "video/mp4", turntable["size_bytes"]]
    assert "Chest, small" in text_of(browser, ".facts")
    views[3].click()  # click to enlarge
    dialog = browser.find_element(By.ID, "enlarged")
    assert wait_for(lambda: dialog.get_attribute("open") is not None, 5, "no enlarged view")
    assert dialog.find_element(By.TAG_NAME, "img").get_attribute("src").endswith(
        "back_180deg.png")

    browser.set_window_size(390, 844)  # a phone
    for page in ("/dashboard/", f"/dashboard/jobs/{job_id}", "/dashboard/new",
                 "/dashboard/templates"):
        browser.get(base + page)
        width = browser.execute_script(
            "return [document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], (page, width)  # nothing wider than the screen


def test_add_a_second_print_row_and_submit_one_job_with_both(
        live_service: LiveService, browser: WebDriver, tmp_path: Path) -> None:
    base = live_service.base
    log_in(browser, base)
    browser.get(f"{base}/dashboard/new")
    rows = browser.find_elements(By.CSS_SELECTOR, ".print-row")
    assert len(rows) == 1
    assert not rows[0].find_element(By.CLASS_NAME, "remove-print").is_displayed()
    browser.find_element(By.NAME, "product_id").send_keys("prod_two_prints")
    rows[0].find_element(By.NAME, "design").send_keys(str(design_file(tmp_path, 900, 900)))
    browser.find_element(By.ID, "add-print").click()
    rows = browser.find_elements(By.CSS_SELECTOR, ".print-row")
    assert [text_of(browser, f".print-row:nth-of-type({n}) .print-title") for n in (1, 2)] == \
        ["Print 1", "Print 2"]
    second = rows[1]
    # a fresh row: no design, a placement the first row has not taken, centred, full size
    assert second.find_element(By.NAME, "design").get_attribute("value") == ""
    assert Select(second.find_element(By.NAME, "preset")).first_selected_option.get_attribute(
        "value") != "chest-medium"
    assert [second.find_element(By.NAME, n).get_attribute("value")
            for n in ("offset_x_cm", "offset_y_cm", "scale", "rotation_deg")] == \
        ["0", "0", "1", "0"]
    Select(second.find_element(By.NAME, "preset")).select_by_value("back-large")
    second.find_element(By.NAME, "design").send_keys(str(design_file(tmp_path, 1200, 1600)))
    scale = second.find_element(By.NAME, "scale")
    scale.clear()
    scale.send_keys("0.5")
    # 1200 px across 12 in is 100 DPI; at half the size, 200
    facts = wait_for(lambda: "200 DPI" in second.find_element(By.CLASS_NAME, "design-facts").text
                     and second.find_element(By.CLASS_NAME, "design-facts").text, 10,
                     "the second row never said its resolution at its scale")
    assert "Full back" in facts and "scaled 0.5" in facts
    assert "90 DPI at Chest, medium" in rows[0].find_element(By.CLASS_NAME, "design-facts").text
    # a third row added and removed again leaves two
    browser.find_element(By.ID, "add-print").click()
    browser.find_elements(By.CSS_SELECTOR, ".print-row")[2].find_element(
        By.CLASS_NAME, "remove-print").click()
    assert len(browser.find_elements(By.CSS_SELECTOR, ".print-row")) == 2
    browser.find_element(By.CSS_SELECTOR, 'input[name=color][value="#1f2a44"]').click()
    click_through(browser, browser.find_element(By.CSS_SELECTOR, "#submit button[type=submit]"))
    assert "/dashboard/jobs/rjob_" in browser.current_url, text_of(browser, "main")
    job_id = browser.current_url.rsplit("/", 1)[1]
    api = http("GET", f"{base}/admin/render-jobs/{job_id}", headers=AUTH).json()
    assert [(p["preset"], p["scale"], p["design"]["width"]) for p in api["prints"]] == \
        [("chest-medium", 1.0, 900), ("back-large", 0.5, 1200)]
    assert len(api["colors"]) == 2 and "#1f2a44" in api["colors"]


def test_cancel_a_running_job_and_a_post_without_csrf_is_refused(
        live_service: LiveService, browser: WebDriver) -> None:
    base = live_service.base
    live_service.fake.set("sleep", sleep_s=60)
    job = upload(base)
    child = live_service.fake.wait_started()["pid"]
    poll(base, job["id"], lambda j: j["status"] in RUNNING, timeout=20)
    log_in(browser, base)
    browser.get(f"{base}/dashboard/jobs/{job['id']}")
    assert text_of(browser, "[data-field=status]") in RUNNING

    # The same button with its CSRF field taken out, as a forged form would be.
    browser.execute_script("document.querySelector('#cancel').form"
                           ".querySelector('[name=csrf_token]').remove()")
    click_through(browser, browser.find_element(By.ID, "cancel"))
    assert "Form refused" in text_of(browser, "h1")
    assert http("GET", f"{base}/admin/render-jobs/{job['id']}",
                headers=AUTH).json()["status"] in RUNNING

    browser.get(f"{base}/dashboard/jobs/{job['id']}")
    click_through(browser, browser.find_element(By.ID, "cancel"))
    assert text_of(browser, "[data-field=status]") == "cancelled"
    assert browser.find_elements(By.ID, "retry") and not browser.find_elements(By.ID, "cancel")
    wait_for(lambda: not pid_alive(child), 15, "the renderer outlived its cancelled job")
    time.sleep(0.5)  # a late progress write must not bring the job back
    assert http("GET", f"{base}/admin/render-jobs/{job['id']}",
                headers=AUTH).json()["status"] == "cancelled"

