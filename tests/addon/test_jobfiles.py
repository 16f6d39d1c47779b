"""A job's output files and the CLI's cancellation (`blender_addon.core.jobfiles`), without
Blender: files appear only when complete and vanish when the job fails or is cancelled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from blender_addon.core.jobfiles import TEMP_PREFIX, Cancellation, JobFiles
from shared.errors import EXIT_CODES, InvalidInput

ROOT = Path(__file__).resolve().parents[2]


def test_prepare_creates_the_folders_and_remove_all_takes_back_only_its_own(tmp_path):
    (tmp_path / "kept.txt").write_text("an earlier file")
    files = JobFiles(tmp_path / "a" / "b")
    files.prepare()
    temp = files.temp("front.png")
    assert temp.name.startswith(TEMP_PREFIX) and temp.suffix == ".png"
    temp.write_bytes(b"png")
    final = files.commit(temp, "front.png")
    assert final == tmp_path / "a" / "b" / "front.png" and final.read_bytes() == b"png"
    assert not temp.exists()
    files.write_text("manifest.json", "{}")
    files.temp("half.png").write_bytes(b"half")
    files.remove_all()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.txt"]


def test_remove_all_keeps_a_folder_that_was_already_there(tmp_path):
    files = JobFiles(tmp_path)
    files.prepare()
    files.write_text("one.txt", "1")
    files.remove_all()
    assert tmp_path.is_dir() and list(tmp_path.iterdir()) == []


def test_remove_temps_leaves_the_finished_files(tmp_path):
    files = JobFiles(tmp_path)
    files.prepare()
    files.write_text("done.txt", "ok")
    files.temp("frames.d").mkdir()
    files.remove_temps()
    assert [p.name for p in tmp_path.iterdir()] == ["done.txt"]


def test_an_output_folder_under_a_file_is_refused_before_any_work(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(InvalidInput) as info:
        JobFiles(blocker / "sub").prepare()
    assert info.value.code == "output_not_writable"
    assert info.value.exit_code == EXIT_CODES["output_not_writable"]


def test_cancellation_leaves_nothing_running_and_restores_the_handlers():
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    with Cancellation(lambda: None) as cancellation:
        assert signal.getsignal(signal.SIGINT) is not before[signal.SIGINT]
        watchers = [t for t in threading.enumerate() if t.name == "tshirt-cancel"]
        assert len(watchers) == 1
        cancellation.install()  # a second install is a no-op
        assert len([t for t in threading.enumerate() if t.name == "tshirt-cancel"]) == 1
    assert not watchers[0].is_alive()
    assert {sig: signal.getsignal(sig) for sig in before} == before


_CHILD = textwrap.dedent("""
    import sys, time
    from blender_addon.core.jobfiles import Cancellation, JobFiles

    files = JobFiles(sys.argv[1])
    files.prepare()
    files.write_text("front.png", "done")
    files.temp("back.png").write_text("half")
    with Cancellation(lambda: print("cancelled", flush=True)) as cancellation:
        cancellation.current = files
        print("ready", flush=True)
        time.sleep(60)
""")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_removes_the_jobs_files_and_exits_cancelled(tmp_path, sig):
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with subprocess.Popen([sys.executable, "-c", _CHILD, str(out)], stdout=subprocess.PIPE,
                          text=True, env=env, cwd=ROOT) as proc:
        try:
            assert proc.stdout.readline().strip() == "ready"
            proc.send_signal(sig)
            assert proc.wait(timeout=20) == EXIT_CODES["cancelled"]
            assert proc.stdout.read().strip() == "cancelled"
        finally:
            if proc.poll() is None:
                proc.kill()
    assert not out.exists()

