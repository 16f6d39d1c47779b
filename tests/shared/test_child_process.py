"""The renderer's child-process runner, against the fake renderer (no Blender)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from fake_renderer import FakeRenderer, pid_alive

from shared import child_process
from shared.contracts import Manifest, RenderSpec

posix_only = pytest.mark.skipif(os.name != "posix", reason="process groups via killpg")
PACKAGE = Path(__file__).resolve().parents[2] / "blender_addon"


@pytest.fixture
def fake(tmp_path: Path) -> FakeRenderer:
    return FakeRenderer(tmp_path / "fake")


def _spec(tmp_path: Path, **overrides) -> RenderSpec:
    data = {"design": str(tmp_path / "d.png"), "preset": "chest-medium", "color": "navy",
            "output_dir": str(tmp_path / "out"), "angles": ["front_0deg", "back_180deg"],
            "animation": {"enabled": True, "frames": 3}, "job_id": "job_1", **overrides}
    return RenderSpec.from_dict(data)


def _run(fake: FakeRenderer, tmp_path: Path, **kwargs) -> child_process.ChildRun:
    spec_path = child_process.write_spec(_spec(tmp_path), tmp_path)
    command = child_process.renderer_command(spec_path, package_dir=PACKAGE,
                                             blender_binary=str(fake.binary))
    return child_process.ChildRun(command, cwd=tmp_path, **kwargs)


def _wait(run: child_process.ChildRun, timeout: float = 20) -> child_process.Outcome:
    deadline = time.monotonic() + timeout
    while run.outcome is None:
        run.poll()
        assert time.monotonic() < deadline, "the child did not end"
        time.sleep(0.02)
    return run.outcome


def _dies(pid: int) -> bool:
    """SIGKILL is sent at once but lands when the process next runs: give it a moment."""
    deadline = time.monotonic() + 3
    while pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _started(run: child_process.ChildRun) -> None:
    deadline = time.monotonic() + 20
    while run.last_event is None:
        run.poll()
        assert time.monotonic() < deadline, "no first event"
        time.sleep(0.02)


# -- the command line ------------------------------------------------------------------------


def test_a_blender_binary_runs_the_cli_headless_with_only_the_spec(tmp_path):
    command = child_process.renderer_command(tmp_path / "spec.json", package_dir=PACKAGE,
                                             blender_binary="/opt/blender/blender",
                                             env={"PATH": "/bin"}, options=("--cpu",))
    assert command.argv == (
        "/opt/blender/blender", "-b", "--factory-startup", "--disable-autoexec",
        "--python-exit-code", "1", "--python", str(PACKAGE / "cli.py"), "--",
        "--spec", str(tmp_path / "spec.json"), "--json", "--cpu")
    assert command.env == {"PATH": "/bin", "PYTHONUNBUFFERED": "1"}


def test_the_bpy_module_runs_the_package_with_its_parent_on_the_path(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    command = child_process.renderer_command("spec.json", package_dir=tmp_path / "tshirt_render",
                                             python="/venv/bin/python")
    assert command.argv == ("/venv/bin/python", "-m", "tshirt_render.cli", "--spec",
                            "spec.json", "--json")
    assert command.env["PYTHONPATH"].split(os.pathsep) == [str(tmp_path.resolve()), "/elsewhere"]
    assert command.env["PATH"] == os.environ["PATH"]


def test_the_spec_file_reads_back_as_the_same_spec(tmp_path):
    spec = _spec(tmp_path)
    path = child_process.write_spec(spec, tmp_path)
    assert path == tmp_path / "spec.json"
    assert RenderSpec.from_json(path.read_text()) == spec


# -- running ---------------------------------------------------------------------------------


def test_progress_lines_become_events_and_the_outputs_match_the_manifest(fake, tmp_path):
    with _run(fake, tmp_path) as run:
        events = []
        while run.outcome is None:
            events += run.poll()
            time.sleep(0.02)
    assert [e.stage for e in events] == ["starting", "compositing", "rendering", "rendering",
                                         "animating", "animating", "animating", "done"]
    assert [e.images_done for e in events if e.stage == "rendering"] == [1, 2]
    assert run.last_event.stage == "done" and run.outcome.ok and run.outcome.error() is None
    assert run.poll() == []
    out = tmp_path / "out"
    manifest = Manifest.load(out)
    manifest.verify(out)
    assert sorted(manifest.stills) == ["back_180deg", "front_0deg"] and manifest.animation
    assert fake.runs()[0]["argv"][-3:] == ["--spec", str(tmp_path / "spec.json"), "--json"]
    assert fake.runs()[0]["spec"]["job_id"] == "job_1"


def test_run_blocks_and_calls_back_on_its_own_thread(fake, tmp_path):
    fake.set("ok", event_delay_s=0.05)
    seen, ticks = [], []
    outcome = _run(fake, tmp_path).run(seen.append, lambda: ticks.append(1), tick_s=0.05)
    assert outcome.ok and outcome.returncode == 0 and outcome.seconds > 0
    assert [e.stage for e in seen][-1] == "done" and len(seen) == 8
    assert ticks


def test_a_callback_that_returns_true_cancels_the_run(fake, tmp_path):
    fake.set("spawn", sleep_s=60)
    run = _run(fake, tmp_path)
    started = time.monotonic()
    outcome = run.run(lambda event: event.stage == "starting")
    assert time.monotonic() - started < 5
    assert outcome.cancelled and outcome.returncode == 130
    assert outcome.error().code == "cancelled"
    assert _dies(fake.grandchild())


def test_a_failed_child_is_its_one_sentence_with_the_right_error(fake, tmp_path):
    fake.set("exit", exit_code=5, message="The design image is damaged: no PNG header.")
    with _run(fake, tmp_path) as run:
        outcome = _wait(run)
    error = outcome.error()
    assert outcome.returncode == 5 and not outcome.cancelled and not outcome.ok
    assert error.code == "corrupt_image"
    assert error.message == "The design image is damaged: no PNG header."


def test_a_silent_failure_still_explains_itself(fake, tmp_path):
    fake.set("exit", exit_code=139, message="")
    with _run(fake, tmp_path) as run:
        outcome = _wait(run)
    assert outcome.message == "Warning: some Blender noise"
    assert outcome.error().code == "render_failed"


def test_a_killed_child_is_a_crash(fake, tmp_path):
    fake.set("kill")
    with _run(fake, tmp_path) as run:
        outcome = _wait(run)
    assert outcome.returncode == -signal.SIGKILL and not outcome.cancelled
    error = outcome.error()
    assert error.code == "render_crashed" and "signal 9" in error.message and error.retryable


@posix_only
def test_cancel_stops_the_whole_process_group_within_seconds(fake, tmp_path):
    fake.set("spawn", sleep_s=60)
    run = _run(fake, tmp_path).start()
    try:
        _started(run)
        grandchild = fake.grandchild()
        started = time.monotonic()
        run.cancel()
        run.cancel()  # twice is once
        outcome = _wait(run, timeout=10)
        assert time.monotonic() - started < 3
    finally:
        run.close()
    assert outcome.returncode == 130 and outcome.cancelled
    assert outcome.error().code == "cancelled"
    assert _dies(grandchild)


@posix_only
def test_a_child_ignoring_sigterm_is_killed_after_the_grace_period(fake, tmp_path):
    fake.set("sleep", sleep_s=60, ignore_term=True)
    run = _run(fake, tmp_path, kill_grace_s=0.3).start()
    try:
        _started(run)
        run.cancel()
        outcome = _wait(run, timeout=10)
    finally:
        run.close()
    assert outcome.returncode == -signal.SIGKILL
    assert outcome.error().code == "cancelled"


@posix_only
def test_the_time_limit_stops_the_render_and_everything_it_started(fake, tmp_path):
    fake.set("spawn", sleep_s=60, ignore_term=True)
    with _run(fake, tmp_path, time_limit_s=0.5, kill_grace_s=0.3) as run:
        outcome = run.run()
    assert outcome.timed_out and not outcome.cancelled and not outcome.ok
    error = outcome.error()
    assert error.code == "render_timeout" and "longer than 0.5 s" in error.message
    assert _dies(fake.grandchild())


@posix_only
def test_close_never_leaves_a_child_behind(fake, tmp_path):
    fake.set("spawn", sleep_s=60, ignore_term=True)
    run = _run(fake, tmp_path).start()
    _started(run)
    pid = run.pid
    run.close()
    assert _dies(pid) and _dies(fake.grandchild())
    assert not any(thread.is_alive() for thread in run._threads)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG")
def test_the_child_dies_with_a_parent_killed_without_warning(fake, tmp_path):
    fake.set("sleep", sleep_s=60, ignore_term=True)
    spec_path = child_process.write_spec(_spec(tmp_path), tmp_path)
    parent = textwrap.dedent(f"""
        import sys, time
        from shared import child_process
        command = child_process.renderer_command({str(spec_path)!r}, package_dir=".",
                                                 blender_binary={str(fake.binary)!r})
        run = child_process.ChildRun(command).start()
        print(run.pid, flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", parent], stdout=subprocess.PIPE, text=True,
                            cwd=PACKAGE.parent)
    try:
        child = int(proc.stdout.readline())
        fake.wait_started()
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
    assert _dies(child), "the render outlived its parent"


def test_a_missing_renderer_is_a_render_error(tmp_path):
    run = child_process.ChildRun(child_process.Command((str(tmp_path / "no-blender"),)))
    with pytest.raises(child_process.errors.RenderFailed, match="Could not start the renderer"):
        run.start()


def test_the_message_is_the_cli_line_without_its_prefix():
    outcome = child_process.Outcome(
        9, ("noise", "tshirt-render: error (unknown_template): No template 'x'.", ""),
        cancelled=False, timed_out=False, seconds=1.0)
    assert outcome.message == "No template 'x'."
    assert outcome.error().code == "unknown_template"
    assert json.dumps(outcome.error().to_dict())
