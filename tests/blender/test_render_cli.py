"""The CLI's contract: exit codes and one-line messages, cancellation, batch, spec files,
several prints and a template given by its folder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image
from render_helpers import FAST, REPO, run_cli

from shared.contracts import Manifest, RenderSpec, parse_event_line
from shared.errors import EXIT_CODES
from shared.prints import PrintSpec
from shared.templates import default_templates_root

pytestmark = [pytest.mark.blender, pytest.mark.bpy42]


def _assert_one_line_error(result, code: str) -> None:
    assert result.returncode == EXIT_CODES[code], (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert f"({code})" in lines[0]


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("missing", "file_not_found"),
        ("text", "unsupported_media_type"),
        ("corrupt", "corrupt_image"),
        ("transparent", "empty_design"),
        ("preset", "unknown_preset"),
        ("color", "invalid_color"),
        ("background", "invalid_color"),
        ("out", "output_not_writable"),
        ("template", "unknown_template"),
    ],
)
def test_bad_input_exit_code_and_one_line(case, code, designs, tmp_path):
    design = str(designs["magenta"])
    args = {"design": design, "preset": "chest-small", "color": "navy",
            "out": str(tmp_path / "out")}
    extra: list[str] = []
    if case == "missing":
        args["design"] = str(tmp_path / "nope.png")
    elif case in ("text", "corrupt", "transparent"):
        args["design"] = str(designs[case])
    elif case == "preset":
        args["preset"] = "belly-huge"
    elif case == "color":
        args["color"] = "#12345z"
    elif case == "background":
        extra = ["--background", "plaid"]
    elif case == "out":
        blocker = tmp_path / "a-file"
        blocker.write_text("x")
        args["out"] = str(blocker / "sub")
    elif case == "template":
        extra = ["--template", "no-such-tee"]
    result = run_cli(*(f"--{k}={v}" for k, v in args.items()), *FAST, "--no-animation",
                     "--angles", "front_0deg", *extra)
    _assert_one_line_error(result, code)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_json_error_on_stdout(tmp_path):
    result = run_cli("--design", str(tmp_path / "gone.png"), "--out", str(tmp_path), "--json")
    _assert_one_line_error(result, "file_not_found")
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert payload == {"ok": False, "code": "file_not_found", "message": payload["message"]}


def test_usage_error_is_one_line(tmp_path):
    result = run_cli("--design", "x.png", "--quality", "ultra")
    _assert_one_line_error(result, "invalid_input")


@pytest.mark.parametrize("order", ["watch-then-import", "import-then-watch"])
def test_the_cancel_watcher_never_crashes_blender_at_exit(order):
    """bpy 4.2 segfaults at exit (139) when a daemon thread still runs Python then; the watcher
    is joined at exit even when only installed, in either order with importing bpy."""
    watch = "from blender_addon.core.jobfiles import Cancellation\n" \
            "Cancellation(lambda: None).install()\n"
    code = watch + "import bpy\n" if order == "watch-then-import" else "import bpy\n" + watch
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, (result.returncode, result.stderr[-2000:])


def test_cancel_stops_quickly_and_leaves_nothing(designs, tmp_path):
    out = tmp_path / "cancelled"
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONWARNINGS": "ignore"}
    with subprocess.Popen(
        [sys.executable, "-m", "blender_addon.cli", "--design", str(designs["magenta"]),
         "--out", str(out), "--resolution", "128", "--samples", "8", "--cpu",
         "--frames", "48"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    ) as proc:
        returncode, waited, stderr = _cancel_after_first_still(proc)
    assert returncode == EXIT_CODES["cancelled"], stderr
    assert waited < 5.0
    assert "Traceback" not in stderr
    leftovers = sorted(p.name for p in out.rglob("*")) if out.exists() else []
    assert leftovers == [], leftovers


def _cancel_after_first_still(proc: subprocess.Popen) -> tuple[int, float, str]:
    try:
        for line in proc.stdout:  # wait until the first still is finished
            event = parse_event_line(line)
            if event and event.stage == "rendering" and event.images_done >= 1:
                break
        else:
            pytest.fail(f"no progress: {proc.stderr.read()}")
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        returncode = proc.wait(timeout=10)
        waited = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return returncode, waited, proc.stderr.read()


def test_batch_bad_row_fails_alone(designs, tmp_path):
    batch = tmp_path / "jobs.csv"
    batch.write_text(
        "design,preset,color,template,out\n"
        f"{designs['magenta']},chest-small,navy,classic-tee,one\n"
        f"{designs['magenta']},belly-huge,navy,classic-tee,two\n"
        "missing.png,chest-small,red,,three\n"
        f"{designs['magenta']},back-small,#c8102e,,four\n"
    )
    result = run_cli("--batch", str(batch), *FAST, "--no-animation", "--angles", "front_0deg")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if not parse_event_line(line)]
    assert lines[0].startswith("row 1: ok")
    assert lines[1].startswith("row 2: failed (unknown_preset)")
    assert lines[2].startswith("row 3: failed (file_not_found)")
    assert lines[3].startswith("row 4: ok")
    assert lines[4] == "batch: 4 rows, 2 ok, 2 failed"
    for name in ("one", "four"):
        Manifest.load(tmp_path / name).verify(tmp_path / name)
    assert not (tmp_path / "two").exists()


def test_batch_json_lines_all_ok(designs, tmp_path):
    batch = tmp_path / "jobs.jsonl"
    rows = [{"design": str(designs["magenta"]), "preset": "chest-medium", "color": c,
             "out": f"out-{c}", "background": "studio"} for c in ("white", "black")]
    batch.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    result = run_cli("--batch", str(batch), *FAST, "--no-animation", "--angles", "front_0deg",
                     "--json")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(x) for x in result.stdout.splitlines() if not parse_event_line(x)]
    assert [line.get("ok") for line in lines[:2]] == [True, True]
    assert lines[2] == {"batch": str(batch), "rows": 2, "ok": 2, "failed": 0}


def test_spec_file(designs, tmp_path):
    spec = RenderSpec(prints=(PrintSpec(str(designs["magenta"]), "back-bottom-medium"),),
                      color="#2c4a33", output_dir=str(tmp_path / "from-spec"),
                      angles=("back_180deg",), resolution=64, samples=1, job_id="job-42")
    spec = RenderSpec.from_dict({**spec.to_dict(), "animation": {"enabled": False}})
    path = tmp_path / "spec.json"
    path.write_text(spec.to_json())
    result = run_cli("--spec", str(path), "--cpu", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout.splitlines()[-1])
    assert payload["ok"] and payload["job_id"] == "job-42"
    events = [e for e in map(parse_event_line, result.stdout.splitlines()) if e]
    assert {e.job_id for e in events} == {"job-42"}
    manifest = Manifest.load(tmp_path / "from-spec")
    assert manifest.spec == spec


@pytest.fixture(scope="module")
def green(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("green") / "green.png"
    Image.new("RGBA", (120, 80), (0, 200, 60, 255)).save(path)
    return path


def test_two_prints_render_through_the_cli(designs, green, tmp_path):
    out = tmp_path / "two"
    result = run_cli("--print", f"{green}:chest-medium", "--print",
                     f"{designs['magenta']}:back-large:offset=0,4:scale=0.5:rotate=90",
                     "--out", str(out), "--resolution", "48", "--samples", "1", "--cpu",
                     "--no-animation", "--angles", "front_0deg,back_180deg", "--json")
    assert result.returncode == 0, result.stderr
    manifest = Manifest.load(out)
    manifest.verify(out)
    assert [p.preset for p in manifest.spec.prints] == ["chest-medium", "back-large"]
    assert manifest.spec.prints[1] == PrintSpec(str(designs["magenta"]), "back-large",
                                                (0.0, 4.0), 0.5, 90.0)
    assert [(p.preset, p.width, p.height) for p in manifest.prints] == [
        ("chest-medium", 120, 80), ("back-large", 200, 200)]
    assert [p.box["side"] for p in manifest.prints] == ["front", "back"]
    assert manifest.prints[1].box["rotation_deg"] == 90.0
    payload = json.loads(result.stdout.splitlines()[-1])
    assert [p["preset"] for p in payload["prints"]] == ["chest-medium", "back-large"]


def test_a_print_out_of_its_area_exits_13_without_rendering(designs, tmp_path):
    out = tmp_path / "outside"
    result = run_cli("--print", f"{designs['magenta']}:chest-small",
                     "--print", f"{designs['magenta']}:back-small:offset=0,-30",
                     "--out", str(out), *FAST, "--no-animation", "--angles", "back_180deg")
    _assert_one_line_error(result, "print_out_of_area")
    assert result.returncode == 13
    assert "Print 2" in result.stderr and " cm " in result.stderr
    assert not out.exists() or not any(out.rglob("*.png"))


@pytest.mark.parametrize(("argv", "code", "says"), [
    (["--print", "logo.png"], "invalid_input", "--print 'logo.png': the placement is missing"),
    (["--print", "logo.png:chest-small:twist=3"], "invalid_input", "unknown part 'twist=3'"),
    (["--print", "logo.png:belly-huge"], "unknown_preset", "Unknown preset 'belly-huge'"),
    (["--print", "logo.png:chest-small", "--design", "logo.png"], "invalid_input",
     "either with --print or"),
])
def test_a_bad_print_argument_is_one_line(argv, code, says, tmp_path):
    result = run_cli(*argv, "--out", str(tmp_path / "out"))
    _assert_one_line_error(result, code)
    assert says in result.stderr


def test_a_template_folder_renders(designs, tmp_path):
    folder = default_templates_root() / "classic-tee"
    out = tmp_path / "folder"
    result = run_cli("--design", str(designs["magenta"]), "--template", str(folder),
                     "--out", str(out), "--resolution", "32", "--samples", "1", "--cpu",
                     "--no-animation", "--angles", "front_0deg")
    assert result.returncode == 0, result.stderr
    manifest = Manifest.load(out)
    assert manifest.spec.template == str(folder)
    assert [o.angle for o in manifest.outputs] == ["front_0deg"]
