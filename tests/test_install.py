"""The installed project: Blender as a module, the console entry points, the lint."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@pytest.mark.blender
def test_the_pinned_bpy_wheel_imports_and_renders_nothing_yet():
    result = subprocess.run(
        [sys.executable, "-c",
         "import bpy, sys; print(bpy.app.version_string); print(bpy.app.background)"],
        capture_output=True, text=True, timeout=120, check=True,
    )
    version, background = result.stdout.split()[-2:]
    assert version == "5.0.1" and background == "True"


@pytest.mark.parametrize("command", ["tshirt-render", "tshirt-service"])
def test_console_entry_points_exist_and_answer_help(command):
    executable = BIN / command
    assert executable.exists(), f"{command} is not installed; run the README's install command"
    result = subprocess.run([str(executable), "--help"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert "usage" in result.stdout.lower()
    assert "Traceback" not in result.stderr


def test_ruff_is_clean():
    ruff = shutil.which("ruff", path=str(BIN)) or shutil.which("ruff")
    assert ruff, "ruff is part of the test extra"
    result = subprocess.run([ruff, "check", "--no-cache", str(ROOT)], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
