"""The child-process runner and progress reader, with a fake renderer (no Blender)."""

from __future__ import annotations

import json
import os
import signal
import sys
import textwrap
import time
from pathlib import Path

import pytest

from blender_addon.core import render_job
from shared.contracts import ProgressEvent

FAKE_RENDERER = textwrap.dedent("""
    import json, signal, subprocess, sys, time

    def event(stage, done=0, total=0, message=""):
        print(json.dumps({"event": "tshirt.progress", "stage": stage, "images_done": done,
                          "images_total": total, "message": message}), flush=True)

    mode = sys.argv[1]
    if mode == "ok":
        print("Blender 5.0.1 (hash) chatter on stdout", flush=True)
        event("starting", 0, 2)
        event("rendering", 1, 2, "front_0deg")
        print('{"event": "tshirt.progress", "stage": "bogus"}', flush=True)
        print("{not json, but mentions tshirt.progress", flush=True)
        event("rendering", 2, 2, "back_180deg")
        event("done", 2, 2)
    elif mode == "fail":
        event("starting", 0, 1)
        print("Warning: some Blender noise", file=sys.stderr)
        print("The design image is damaged: the PNG header is missing.", file=sys.stderr)
        sys.exit(5)
    elif mode == "crash":
        sys.exit(139)
    elif mode in ("slow", "stubborn"):
        if mode == "slow":
            signal.signal(signal.SIGTERM, lambda *a: sys.exit(130))
        else:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        print("GRANDCHILD", grandchild.pid, file=sys.stderr, flush=True)
        event("rendering", 0, 6)
        time.sleep(120)
""")

posix_only = pytest.mark.skipif(os.name != "posix", reason="process groups via killpg")


@pytest.fixture
def fake(tmp_path):
    script = tmp_path / "fake_renderer.py"
    script.write_text(FAKE_RENDERER)

    def command(mode: str) -> render_job.ChildCommand:
        return render_job.ChildCommand([sys.executable, str(script), mode])

    return command


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0); it is dead for our purposes
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def test_progress_lines_become_events_and_other_lines_are_ignored(fake):
    with render_job.RenderJob(fake("ok")) as job:
        seen: list[render_job.Message] = []
        finished = job.wait(timeout=30, on_message=seen.append)
    events = [m.event for m in seen if isinstance(m, render_job.Progress)]
    assert [e.stage for e in events] == ["starting", "rendering", "rendering", "done"]
    assert [e.images_done for e in events] == [0, 1, 2, 2]
    assert isinstance(seen[-1], render_job.Finished) and finished.ok
    assert finished.error() is None
    assert job.last_event.stage == "done"


def test_a_failed_child_is_one_sentence_with_the_right_error(fake):
    with render_job.RenderJob(fake("fail")) as job:
        finished = job.wait(timeout=30)
    error = finished.error()
    assert finished.returncode == 5 and not finished.cancelled
    assert error.code == "corrupt_image"
    assert error.message == "The design image is damaged: the PNG header is missing."


def test_a_crash_without_stderr_still_explains_itself(fake):
    with render_job.RenderJob(fake("crash")) as job:
        error = job.wait(timeout=30).error()
    assert error.code == "render_failed" and "139" in error.message


@posix_only
def test_cancel_stops_the_whole_process_group_within_seconds(fake):
    job = render_job.RenderJob(fake("slow")).start()
    try:
        while job.last_event is None:
            job.poll()
            time.sleep(0.02)
        grandchild = int(next(line.split()[1] for line in job._stderr_tail
                              if line.startswith("GRANDCHILD")))
        started = time.monotonic()
        job.cancel()
        finished = job.wait(timeout=10)
        assert time.monotonic() - started < 3
    finally:
        job.close()
    assert finished.returncode == 130 and finished.cancelled
    assert finished.error().code == "cancelled"
    time.sleep(0.2)
    assert not _alive(grandchild)


@posix_only
def test_a_child_ignoring_sigterm_is_killed_after_the_grace_period(fake, monkeypatch):
    monkeypatch.setattr(render_job, "KILL_GRACE_S", 0.5)
    job = render_job.RenderJob(fake("stubborn")).start()
    try:
        while job.last_event is None:
            job.poll()
            time.sleep(0.02)
        job.cancel()
        finished = job.wait(timeout=10)
    finally:
        job.close()
    assert finished.returncode == -signal.SIGKILL
    assert finished.error().code == "cancelled"


@posix_only
def test_close_never_leaves_a_child_behind(fake):
    job = render_job.RenderJob(fake("slow")).start()
    pid = job.pid
    job.close()
    assert not _alive(pid)
    assert not any(t.is_alive() for t in job._threads)


@posix_only
def test_time_limit_stops_a_render(fake):
    with render_job.RenderJob(fake("stubborn"), time_limit_s=0.5) as job:
        finished = job.wait(timeout=20)
    assert not finished.ok
    assert "longer than" in finished.error().message


def test_a_missing_binary_is_a_render_error(tmp_path):
    job = render_job.RenderJob(render_job.ChildCommand([str(tmp_path / "no-blender")]))
    with pytest.raises(render_job.errors.RenderFailed, match="Could not start the renderer"):
        job.start()


def test_command_for_real_blender_is_an_argument_list(tmp_path):
    command = render_job.child_command(["--design", "a b.png"], package_dir=tmp_path / "pkg",
                                       blender_binary="/opt/blender/blender")
    assert command.argv[:6] == ["/opt/blender/blender", "-b", "--factory-startup",
                                "--disable-autoexec", "--python-exit-code", "1"]
    assert command.argv[6:] == ["--python", str((tmp_path / "pkg" / "cli.py").resolve()), "--",
                                "--design", "a b.png"]
    assert command.env == {}


def test_command_for_the_bpy_wheel_runs_the_package_module(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    command = render_job.child_command(["--json"], package_dir=tmp_path / "tshirt_render",
                                       python_executable="/venv/bin/python")
    assert command.argv == ["/venv/bin/python", "-m", "tshirt_render.cli", "--json"]
    assert command.env["PYTHONPATH"].split(os.pathsep) == [str(tmp_path.resolve()), "/elsewhere"]


def test_request_options_match_the_cli():
    request = render_job.RenderRequest(
        design="/d.png", preset="back-large", color="#112233", template="classic-tee",
        quality="preview", angles=("front_0deg", "back_180deg"), animation=False,
        background="studio", output_dir="/out", resolution=64, samples=1,
    )
    args = request.cli_args()
    assert args[args.index("--angles") + 1] == "front_0deg,back_180deg"
    assert "--no-animation" in args and "--frames" not in args
    assert args[args.index("--resolution") + 1] == "64" and "--json" in args
    animated = render_job.RenderRequest(**{**request.__dict__, "animation": True, "frames": 4})
    assert "--no-animation" not in animated.cli_args()
    assert animated.cli_args()[-6:-4] == ["--frames", "4"]


@pytest.mark.parametrize(("event", "fraction"), [
    (ProgressEvent("starting", 0, 6, 0, 48), 0.0),
    (ProgressEvent("rendering", 3, 6, 0, 48), 3 / 54),
    (ProgressEvent("animating", 6, 6, 24, 48), 30 / 54),
    (ProgressEvent("rendering", 0, 0), 0.0),
    (ProgressEvent("done", 6, 6, 48, 48), 1.0),
])
def test_progress_fraction(event, fraction):
    assert render_job.progress_fraction(event) == pytest.approx(fraction)


def test_stage_text():
    assert render_job.stage_text(ProgressEvent("rendering", 2, 6)) == "Rendering stills 2/6"
    assert render_job.stage_text(ProgressEvent("animating", 6, 6, 3, 48, "x")) == \
        "Turntable frame 3/48: x"
    assert render_job.stage_text(ProgressEvent("encoding")) == "Encoding"


def test_still_files_fall_back_to_the_folder_without_a_readable_manifest(tmp_path):
    (tmp_path / "front_0deg.png").write_bytes(b"x")
    expected = {"front_0deg": Path(tmp_path / "front_0deg.png")}
    assert render_job.still_files(tmp_path, ["front_0deg", "back_180deg"]) == expected
    (tmp_path / "manifest.json").write_text(json.dumps({"nonsense": True}))
    assert render_job.still_files(tmp_path, ["front_0deg", "back_180deg"]) == expected
