"""A stand-in for Blender running the headless CLI, for the tests of the child-process runner,
the add-on's render session and the queue: progress, failures, time limits and cancellation in
milliseconds instead of seconds.

`FakeRenderer(folder)` installs it as an executable `folder/blender`, started exactly as a real
Blender binary would be (`blender -b --factory-startup ... --python cli.py -- --spec FILE ...`);
it reads the RenderSpec from `--spec` and nothing else. What it does comes from
`folder/behaviour.json` (read at every start): `modes` is a list taken in turn by successive
runs (the last one repeats):

- `ok`: Blender-like chatter and a malformed line on stdout, progress events, a still per angle
  of the spec, a turntable file when the spec asks for one and a valid manifest; exit 0
  (`event_delay_s` between events); a spec with several colours gets them per colour, in
  each colour's folder, as the real renderer writes them
- `sleep`: a first event, then sleep `sleep_s` (SIGTERM exits 130, unless `ignore_term`)
- `spawn`: like `sleep`, plus a grandchild `sleep` in the same process group
  (its pid in `grandchild.pid`)
- `exit`: print `message` on stderr as the CLI does, exit `exit_code`
- `kill`: SIGKILL itself (a crash)

Every run appends `{"pid", "time", "argv", "spec", "designs"}` to `runs.jsonl` beside it,
`designs` the sha256 of each print's design file as the run found it (None when missing: the
fake renders without reading them).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent

_LAUNCHER = """\
#!{python}
import sys
sys.path[:0] = [{tests!r}, {repo!r}]
import fake_renderer
sys.exit(fake_renderer.main(__file__))
"""


class FakeRenderer:
    """The fake's folder: set what the next runs do, read what they did."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.binary = folder / "blender"
        self.binary.write_text(_LAUNCHER.format(python=sys.executable, tests=str(TESTS),
                                                repo=str(REPO)))
        self.binary.chmod(0o755)
        self.set("ok")

    def set(self, *modes: str, **options: Any) -> None:
        (self.folder / "behaviour.json").write_text(json.dumps({"modes": list(modes),
                                                                **options}))

    def runs(self) -> list[dict[str, Any]]:
        log = self.folder / "runs.jsonl"
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() \
            else []

    def wait_started(self, count: int = 1, timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runs = self.runs()
            if len(runs) >= count:
                return runs[count - 1]
            time.sleep(0.02)
        raise AssertionError("the fake renderer did not start")

    def grandchild(self) -> int:
        return int((self.folder / "grandchild.pid").read_text())


def pid_alive(pid: int) -> bool:
    """Whether a process runs (a zombie waiting for its parent does not count)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


# -- the fake itself (runs in the child) -----------------------------------------------------


def _event(stage: str, **counts: object) -> None:
    line = {"event": "tshirt.progress", "stage": stage, "spec_version": 1, **counts}
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


def _render_ok(spec_data: dict, behaviour: dict) -> int:
    from PIL import Image

    from shared.contracts import Manifest, OutputFile, RenderSpec
    from shared.job_colors import color_dir
    from shared.validation import file_sha256

    spec = RenderSpec.from_dict(spec_data)
    out = Path(spec.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    delay = float(behaviour.get("event_delay_s", 0.0))
    print("Blender 5.0.1 (hash 0000) chatter on stdout", flush=True)
    print('{"event": "tshirt.progress", "stage": "bogus"}', flush=True)
    _event("starting", job_id=spec.job_id)
    _event("compositing", job_id=spec.job_id)
    # Totals over every colour, announced from the first event, as the real renderer does,
    # so progress only rises.
    per_frames = spec.animation.frames if spec.animation.enabled else 0
    total = len(spec.angles) * len(spec.all_colors)
    frames = per_frames * len(spec.all_colors)
    outputs = []
    done = frames_done = 0

    def describe(path: Path, kind: str, color: str, **extra: object) -> OutputFile:
        # several colours: each in its folder, named by its colour (shared.job_colors)
        name = f"{path.parent.name}/{path.name}" if spec.colors else path.name
        return OutputFile(kind=kind, file=name, width=8, height=8, sha256=file_sha256(path),
                          size_bytes=path.stat().st_size,
                          color=color if spec.colors else None, **extra)

    for shade, color in enumerate(spec.all_colors):
        folder = out / color_dir(color) if spec.colors else out
        folder.mkdir(exist_ok=True)
        for number, angle in enumerate(spec.angles, start=1):
            path = folder / f"{angle}.png"
            Image.new("RGBA", (8, 8), (number * 30, shade * 20, 0, 255)).save(path)
            outputs.append(describe(path, "still", color, angle=angle))
            done += 1
            _event("rendering", images_done=done, images_total=total, frames_done=frames_done,
                   frames_total=frames, item=angle)
            time.sleep(delay)
        for _frame in range(per_frames):
            frames_done += 1
            _event("animating", images_done=done, images_total=total,
                   frames_done=frames_done, frames_total=frames)
            time.sleep(delay)
        if per_frames:
            video = folder / "turntable.mp4"
            video.write_bytes(color.encode() + b"not really a video" * 10)
            outputs.append(describe(video, "animation", color))
    manifest = Manifest(spec=spec, blender_version="fake", outputs=tuple(outputs),
                        timings={"total": 0.1}, created_at="2026-01-01T00:00:00Z")
    (out / "manifest.json").write_text(manifest.to_json(), encoding="utf-8")
    _event("done", images_done=total, images_total=total, frames_done=frames,
           frames_total=frames)
    return 0


def _designs(spec_data: dict | None) -> list[str | None]:
    """The sha256 of each print's design file (a version-1 spec's one design), None when
    missing."""
    if spec_data is None:
        return []
    items = spec_data.get("prints") or [{"design": spec_data.get("design", "")}]
    found = []
    for item in items:
        path = Path(str(item.get("design", "")) if isinstance(item, dict) else "")
        found.append(hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None)
    return found


def main(script: str) -> int:
    here = Path(script).resolve().parent
    args = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]
    spec_data = (json.loads(Path(args[args.index("--spec") + 1]).read_text())
                 if "--spec" in args else None)
    behaviour = json.loads((here / "behaviour.json").read_text())
    log = here / "runs.jsonl"
    runs = len(log.read_text().splitlines()) if log.exists() else 0
    modes = behaviour.get("modes", ["ok"])
    mode = modes[min(runs, len(modes) - 1)]
    with log.open("a") as handle:
        handle.write(json.dumps({"pid": os.getpid(), "time": time.time(), "argv": args,
                                 "spec": spec_data, "designs": _designs(spec_data)}) + "\n")
    if mode == "ok":
        if spec_data is None:
            sys.stderr.write("tshirt-render: error (invalid_input): --spec is required.\n")
            return 2
        return _render_ok(spec_data, behaviour)
    if mode == "exit":
        print("Warning: some Blender noise", file=sys.stderr)
        message = behaviour.get("message", "failed")
        if message:
            sys.stderr.write(f"tshirt-render: error (x): {message}\n")
        return int(behaviour.get("exit_code", 20))
    if mode == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if mode in ("sleep", "spawn"):
        if behaviour.get("ignore_term"):
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        else:
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
        if mode == "spawn":
            child = subprocess.Popen(["sleep", "60"])
            (here / "grandchild.pid").write_text(str(child.pid))
        _event("starting")
        time.sleep(float(behaviour.get("sleep_s", 60)))
        return 0
    return 99


if __name__ == "__main__":
    sys.exit(main(__file__))
