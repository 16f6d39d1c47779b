"""A stand-in for Blender, run by the worker exactly as a real `blender` binary would be
(`fake -b --factory-startup ... --python cli.py -- ARGS`), for the tests of the queue's own
logic: failures, retries, time limits and cancellation, in milliseconds instead of seconds.

What it does comes from `behaviour.json` beside it (read at every start): `modes` is a list
taken in turn by successive runs (the last one repeats):

- `ok`: progress events, six stills, a turntable file and a valid manifest; exit 0
- `sleep`: a first event, then sleep `sleep_s` (SIGTERM exits 130, unless `ignore_term`)
- `spawn`: like `sleep`, plus a grandchild `sleep` in the same process group
- `exit`: print `message` on stderr, exit `exit_code`
- `kill`: SIGKILL itself (a crash)

Every run appends `{"pid", "time", "argv"}` to `runs.jsonl` beside it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _arg(args: list[str], name: str, default: str | None = None) -> str | None:
    return args[args.index(name) + 1] if name in args else default


def _event(stage: str, **counts: object) -> None:
    line = {"event": "tshirt.progress", "stage": stage, "spec_version": 1, **counts}
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


def _render_ok(args: list[str], behaviour: dict) -> int:
    from PIL import Image

    from shared.angles import ANGLE_IDS
    from shared.contracts import Manifest, OutputFile, RenderSpec
    from shared.validation import file_sha256

    out = Path(_arg(args, "--out") or ".")
    frames = int(_arg(args, "--frames", "4") or 4)
    animation = "--no-animation" not in args
    delay = float(behaviour.get("event_delay_s", 0.0))
    spec = RenderSpec.from_dict({
        "design": _arg(args, "--design"), "preset": _arg(args, "--preset"),
        "color": _arg(args, "--color"), "output_dir": str(out),
        "template": _arg(args, "--template"), "quality": _arg(args, "--quality"),
        "background": _arg(args, "--background"), "job_id": _arg(args, "--job-id"),
        "animation": {"enabled": animation, "frames": max(2, frames)},
    })
    _event("starting")
    _event("compositing")
    outputs = []
    for number, angle in enumerate(ANGLE_IDS, start=1):
        path = out / f"{angle}.png"
        Image.new("RGBA", (8, 8), (number * 30, 0, 0, 255)).save(path)
        outputs.append(OutputFile(kind="still", file=path.name, width=8, height=8,
                                  sha256=file_sha256(path), size_bytes=path.stat().st_size,
                                  angle=angle))
        _event("rendering", images_done=number, images_total=6)
        time.sleep(delay)
    if animation:
        for frame in range(1, frames + 1):
            _event("animating", images_done=6, images_total=6, frames_done=frame,
                   frames_total=frames)
            time.sleep(delay)
        video = out / "turntable.mp4"
        video.write_bytes(b"not really a video" * 10)
        outputs.append(OutputFile(kind="animation", file=video.name, width=8, height=8,
                                  sha256=file_sha256(video), size_bytes=video.stat().st_size))
    manifest = Manifest(spec=spec, blender_version="fake", outputs=tuple(outputs),
                        timings={"total": 0.1}, created_at="2026-01-01T00:00:00Z")
    (out / "manifest.json").write_text(manifest.to_json(), encoding="utf-8")
    _event("done", images_done=6, images_total=6, frames_done=frames if animation else 0,
           frames_total=frames if animation else 0)
    return 0


def main() -> int:
    args = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]
    behaviour = json.loads((HERE / "behaviour.json").read_text())
    log = HERE / "runs.jsonl"
    runs = len(log.read_text().splitlines()) if log.exists() else 0
    modes = behaviour.get("modes", ["ok"])
    mode = modes[min(runs, len(modes) - 1)]
    with log.open("a") as handle:
        handle.write(json.dumps({"pid": os.getpid(), "time": time.time(), "argv": args}) + "\n")
    if mode == "ok":
        return _render_ok(args, behaviour)
    if mode == "exit":
        sys.stderr.write(f"tshirt-render: error (x): {behaviour.get('message', 'failed')}\n")
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
            (HERE / "grandchild.pid").write_text(str(child.pid))
        _event("starting")
        time.sleep(float(behaviour.get("sleep_s", 60)))
        return 0
    return 99


if __name__ == "__main__":
    sys.exit(main())
