"""Running the headless renderer as a child process: the command line, the environment, the
time limit and the progress events on its stdout.

The service never imports `bpy`. Blender runs with an argument list (no shell), a minimal
environment, `--factory-startup` and auto-run scripts disabled, in its own session so that a
time limit or a cancel can kill the whole process group. On Linux the child also dies with the
worker (PR_SET_PDEATHSIG), so a worker killed with SIGKILL leaves no orphaned render behind.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from shared.contracts import ProgressEvent, parse_event_line
from shared.errors import InvalidInput

_log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
CLI_SCRIPT = REPO_ROOT / "blender_addon" / "cli.py"
#: Variables a render may need from the worker's environment; nothing else is passed on.
PASSED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT",
              "CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES", "OCIO")
STDERR_LINES = 20

# Run as `python -I -c SHIM <worker pid> ARGV...`: ask the kernel to SIGKILL this process when
# the worker thread that started it dies, then become the renderer (the setting survives exec).
# A separate tiny exec step rather than `preexec_fn`, which is unsafe in a threaded process.
_DEATH_SHIM = """\
import ctypes, os, signal, sys
try:
    ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)
except Exception:
    pass
if os.getppid() != int(sys.argv[1]):
    os._exit(137)
os.execv(sys.argv[2], sys.argv[2:])
"""


@dataclass(frozen=True)
class RendererCommand:
    """How to start the renderer: a Blender binary, or a Python that has the `bpy` module."""

    blender_bin: str | None = None
    blender_python: str | None = None

    def argv(self, args: Sequence[str]) -> list[str]:
        if self.blender_bin:
            return [self.blender_bin, "-b", "--factory-startup", "--disable-autoexec",
                    "--python-exit-code", "1", "--python", str(CLI_SCRIPT), "--", *args]
        python = self.blender_python or sys.executable
        return [python, "-m", "blender_addon.cli", *args]


def render_args(*, design: Path, out: Path, job_id: str, preset: str, color: str, template: str,
                quality: str, background: str, animation: bool,
                overrides: Mapping[str, object] | None = None) -> list[str]:
    """The CLI's arguments for one job. `overrides` (from `TSHIRT_RENDER_OVERRIDES`) may set
    resolution, samples, frames, fps, animation_format and turntable_method: tests and
    benchmarks use it for tiny renders."""
    args = ["--design", str(design), "--out", str(out), "--job-id", job_id, "--preset", preset,
            "--color", color, "--template", template, "--quality", quality,
            "--background", background, "--json"]
    if not animation:
        args.append("--no-animation")
    for key, value in (overrides or {}).items():
        if key not in OVERRIDE_FLAGS:
            raise InvalidInput(f"Unknown render override {key!r}; allowed: "
                               f"{', '.join(OVERRIDE_FLAGS)}.", code="invalid_input")
        args += [OVERRIDE_FLAGS[key], str(value)]
    return args


OVERRIDE_FLAGS = {
    "resolution": "--resolution",
    "samples": "--samples",
    "frames": "--frames",
    "fps": "--fps",
    "animation_format": "--animation-format",
    "turntable_method": "--turntable-method",
}


def child_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {key: os.environ[key] for key in PASSED_ENV if key in os.environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.setdefault("LANG", "C.UTF-8")
    env["PYTHONPATH"] = str(REPO_ROOT)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


@dataclass
class RunOutcome:
    returncode: int
    timed_out: bool
    stopped: bool
    seconds: float
    stderr_tail: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        """The CLI's one-line error (its last stderr line), without the program prefix."""
        for line in reversed(self.stderr_tail):
            text = line.strip()
            if text:
                if text.startswith("tshirt-render: error (") and "): " in text:
                    text = text.split("): ", 1)[1]
                return text[:500]
        return ""


class BlenderRun:
    """One renderer child. `run()` blocks, calling `on_event` for each progress event and
    `on_tick` about every `tick_s` on the calling thread; either may return True to stop it."""

    def __init__(self, argv: Sequence[str], *, timeout_s: float, env: Mapping[str, str],
                 cwd: Path | None = None, kill_grace_s: float = 3.0) -> None:
        self.argv = list(argv)
        self.timeout_s = timeout_s
        self.env = dict(env)
        self.cwd = cwd
        self.kill_grace_s = kill_grace_s
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at: float | None = None
        self._events: queue.SimpleQueue[ProgressEvent | None] = queue.SimpleQueue()
        self._stderr: deque[str] = deque(maxlen=STDERR_LINES)
        self._stop = threading.Event()

    def request_stop(self) -> None:
        """Ask a running `run()` to terminate the child (thread-safe)."""
        self._stop.set()
        self._events.put(None)

    def _launch_argv(self) -> list[str]:
        if sys.platform.startswith("linux"):
            return [sys.executable, "-I", "-c", _DEATH_SHIM, str(os.getpid()), *self.argv]
        return self.argv

    def start(self) -> None:
        self.started_at = time.monotonic()
        self.process = subprocess.Popen(
            self._launch_argv(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=self.env, cwd=self.cwd, start_new_session=True,
            close_fds=True,
        )
        threading.Thread(target=self._read_stdout, name="blender-stdout", daemon=True).start()
        threading.Thread(target=self._read_stderr, name="blender-stderr", daemon=True).start()

    def _read_stdout(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for raw in self.process.stdout:
            try:
                event = parse_event_line(raw)
            except InvalidInput:
                _log.debug("ignoring a malformed progress line: %r", raw[:200])
                continue
            if event is not None:
                self._events.put(event)
        self.process.stdout.close()

    def _read_stderr(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        for raw in self.process.stderr:
            self._stderr.append(raw.decode("utf-8", "replace").rstrip("\n"))
        self.process.stderr.close()

    def kill_group(self) -> None:
        """SIGTERM the whole group, then SIGKILL whatever is left after the grace period."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            process.wait(self.kill_grace_s)
        except subprocess.TimeoutExpired:
            _log.warning("renderer %d ignored SIGTERM; killing its process group", process.pid)
        # Anything else in the group (helpers Blender started) goes too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def run(self, on_event: Callable[[ProgressEvent], bool | None] = lambda _e: None,
            on_tick: Callable[[], bool | None] = lambda: None,
            tick_s: float = 0.5) -> RunOutcome:
        if self.process is None:
            self.start()
        assert self.process is not None and self.started_at is not None
        deadline = self.started_at + self.timeout_s
        timed_out = stopped = False
        next_tick = time.monotonic() + tick_s
        try:
            while True:
                now = time.monotonic()
                if self._stop.is_set():
                    stopped = True
                    break
                if now >= deadline:
                    timed_out = True
                    break
                if self.process.poll() is not None:
                    break
                wait = max(0.0, min(next_tick, deadline) - now)
                try:
                    event = self._events.get(timeout=min(wait, 0.1))
                except queue.Empty:
                    event = None
                if event is not None and on_event(event):
                    stopped = True
                    break
                if time.monotonic() >= next_tick:
                    next_tick = time.monotonic() + tick_s
                    if on_tick():
                        stopped = True
                        break
        finally:
            if self.process.poll() is None:
                self.kill_group()
        returncode = self.process.wait()
        # Deliver the events the child wrote before it exited (the last frames, "done").
        if not (stopped or timed_out):
            self._drain(on_event)
        return RunOutcome(returncode=returncode, timed_out=timed_out, stopped=stopped,
                          seconds=time.monotonic() - self.started_at,
                          stderr_tail=list(self._stderr))

    def _drain(self, on_event: Callable[[ProgressEvent], bool | None]) -> None:
        # The reader threads finish once the pipes close (the whole group has exited).
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            try:
                event = self._events.get(timeout=0.05)
            except queue.Empty:
                if self.process is not None and self.process.stdout is not None \
                        and self.process.stdout.closed:
                    break
                continue
            if event is not None:
                on_event(event)
        # Give stderr's reader the same chance to collect the one-line message.
        for _ in range(20):
            if self.process is None or self.process.stderr is None or self.process.stderr.closed:
                break
            time.sleep(0.01)
