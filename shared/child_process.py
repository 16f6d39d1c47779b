"""The renderer as a child process: its argument list, its progress events, its end.

One runner for both callers. The add-on's modal timer calls the non-blocking `poll()`; the
service's worker calls the blocking `run()` with callbacks. The child gets `--spec spec.json`
(the RenderSpec, written by `write_spec`) and nothing else that says what to render; it runs
with an argument list (no shell), in its own process group so that a cancel or the time limit
stops Blender and anything it started, and (on Linux) it dies with the thread that started it,
so a parent killed with SIGKILL leaves no orphaned render behind.

Reader threads turn stdout's progress lines into `ProgressEvent`s and keep stderr's last lines
(the CLI's one-line error is the last of them); they never touch `bpy`.
"""

from __future__ import annotations

import collections
import logging
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import errors
from .contracts import ProgressEvent, RenderSpec, parse_event_line

_log = logging.getLogger(__name__)

SPEC_NAME = "spec.json"
#: Exit status of a cancelled render (128 + SIGINT, as shells report it).
EXIT_CANCELLED = 130
#: Seconds between the polite SIGTERM and the SIGKILL.
KILL_GRACE_S = 5.0
STDERR_TAIL_LINES = 40
#: How the CLI starts its one-line error (``tshirt-render: error (code): message``).
CLI_ERROR_PREFIX = "tshirt-render: error ("

# Run as `python -I -c SHIM <parent pid> ARGV...`: ask the kernel to SIGKILL this process when
# the thread that started it dies, then become the renderer (the setting survives exec). A tiny
# exec step rather than `preexec_fn`, which is unsafe in a threaded process.
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
# The shim needs a Python interpreter; inside some Blender builds sys.executable is Blender.
_SHIM_PYTHON = sys.executable if "python" in Path(sys.executable).name.lower() else ""


# ---------------------------------------------------------------------------------------------
# the command line


@dataclass(frozen=True)
class Command:
    argv: tuple[str, ...]
    #: The child's whole environment; None inherits this process's.
    env: Mapping[str, str] | None = None


def write_spec(spec: RenderSpec, folder: str | Path) -> Path:
    """The spec as ``spec.json`` in ``folder`` (a job's work folder), for ``--spec``."""
    path = Path(folder) / SPEC_NAME
    path.write_text(spec.to_json(), encoding="utf-8")
    return path


def renderer_command(spec_path: str | Path, *, package_dir: str | Path,
                     blender_binary: str = "", python: str = sys.executable,
                     env: Mapping[str, str] | None = None,
                     options: Sequence[str] = ()) -> Command:
    """The argument list that renders the spec file.

    With a Blender binary the child is Blender running the package's ``cli.py`` headless, with
    factory settings and auto-run scripts disabled (a template ``.blend`` can carry Python);
    without one it is ``python -m <package>.cli`` for a Python that has the ``bpy`` module, with
    the package's parent folder on ``PYTHONPATH``. ``options`` are the CLI's run options
    (``--cpu``, ``--verbose``, ...), never what to render. ``env`` is the base environment
    (default: this process's).
    """
    package_dir = Path(package_dir).resolve()
    args = ("--spec", str(spec_path), "--json", *options)
    child_env = dict(os.environ if env is None else env)
    child_env["PYTHONUNBUFFERED"] = "1"
    if blender_binary:
        argv = (blender_binary, "-b", "--factory-startup", "--disable-autoexec",
                "--python-exit-code", "1", "--python", str(package_dir / "cli.py"), "--", *args)
        return Command(argv, child_env)
    old = child_env.get("PYTHONPATH", "")
    child_env["PYTHONPATH"] = str(package_dir.parent) + (os.pathsep + old if old else "")
    return Command((python, "-m", f"{package_dir.name}.cli", *args), child_env)


# ---------------------------------------------------------------------------------------------
# the end of a run


@dataclass(frozen=True)
class Outcome:
    returncode: int
    #: The last lines the child wrote on stderr.
    stderr_tail: tuple[str, ...]
    #: Stopped by `cancel()` (or a callback of `run()`).
    cancelled: bool
    #: Stopped because it ran past the time limit.
    timed_out: bool
    seconds: float
    time_limit_s: float | None = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not (self.cancelled or self.timed_out)

    @property
    def message(self) -> str:
        """The CLI's one-line error (its last stderr line), without the program prefix."""
        for line in reversed(self.stderr_tail):
            text = line.strip()
            if text:
                if text.startswith(CLI_ERROR_PREFIX) and "): " in text:
                    text = text.split("): ", 1)[1]
                return text[:500]
        return ""

    def error(self) -> errors.TshirtError | None:
        """The project's error for a run that did not succeed; None when it did."""
        if self.ok:
            return None
        if self.timed_out:
            limit = f"{self.time_limit_s:g} s" if self.time_limit_s else "its time limit"
            return errors.RenderFailed(f"The render took longer than {limit} and was stopped.",
                                       code="render_timeout")
        if self.cancelled or self.returncode in (EXIT_CANCELLED, -signal.SIGTERM,
                                                 -signal.SIGINT):
            return errors.RenderCancelled("The render was cancelled.")
        if self.returncode < 0:
            return errors.RenderFailed(
                f"The renderer was killed by signal {-self.returncode}.", code="render_crashed")
        return errors.error_for_exit_code(
            self.returncode,
            self.message or f"The renderer stopped with exit status {self.returncode}.")


class _Ended:
    """Posted once the child has exited and both pipes are read to the end."""


_ENDED = _Ended()


# ---------------------------------------------------------------------------------------------
# the run


class ChildRun:
    """One renderer child. ``start()``, then either ``poll()`` now and then (a UI timer) or
    ``run()`` (blocks). ``cancel()`` from any thread; ``close()`` (also ``with``) leaves no
    child and no reader thread behind."""

    def __init__(self, command: Command, *, time_limit_s: float | None = None,
                 cwd: str | Path | None = None, kill_grace_s: float = KILL_GRACE_S) -> None:
        self.command = command
        self.time_limit_s = time_limit_s
        self.cwd = cwd
        self.kill_grace_s = kill_grace_s
        self.last_event: ProgressEvent | None = None
        self.outcome: Outcome | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._queue: queue.SimpleQueue[ProgressEvent | _Ended] = queue.SimpleQueue()
        self._stderr: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
        self._threads: list[threading.Thread] = []
        self._cancelled = threading.Event()
        self._timed_out = False
        self._started_at = 0.0

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> ChildRun:
        argv = list(self.command.argv)
        env = None if self.command.env is None else dict(self.command.env)
        # Checked here: behind the death shim a missing program would only be an exit status.
        if shutil.which(argv[0], path=(env or os.environ).get("PATH")) is None:
            raise errors.RenderFailed(f"Could not start the renderer: {argv[0]} is not an "
                                      f"executable program.")
        kwargs: dict = {}
        if os.name == "nt":
            kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined]
        else:
            kwargs["start_new_session"] = True
            if sys.platform.startswith("linux") and _SHIM_PYTHON:
                argv = [_SHIM_PYTHON, "-I", "-c", _DEATH_SHIM, str(os.getpid()), *argv]
        _log.info("starting the renderer: %s", subprocess.list2cmdline(self.command.argv))
        try:
            self._proc = subprocess.Popen(  # noqa: S603 - an argument list, no shell
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                env=env, cwd=self.cwd, close_fds=True, **kwargs,
            )
        except OSError as exc:
            raise errors.RenderFailed(f"Could not start the renderer ({self.command.argv[0]}): "
                                      f"{exc.strerror or exc}.") from exc
        self._started_at = time.monotonic()
        readers = [threading.Thread(target=self._read_stdout, name="tshirt-child-stdout",
                                    daemon=True),
                   threading.Thread(target=self._read_stderr, name="tshirt-child-stderr",
                                    daemon=True)]
        waiter = threading.Thread(target=self._wait, args=readers, name="tshirt-child-wait",
                                  daemon=True)
        self._threads = [*readers, waiter]
        for thread in self._threads:
            thread.start()
        return self

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self.outcome is None

    @property
    def cancel_requested(self) -> bool:
        return self._cancelled.is_set()

    def cancel(self) -> None:
        """Stop the child: SIGTERM to its process group now, SIGKILL after the grace period.
        Thread-safe; a second call changes nothing."""
        if self._cancelled.is_set():
            return
        self._cancelled.set()
        self._terminate()

    def close(self) -> None:
        """Make sure nothing outlives the run: no child, no reader threads."""
        if self._proc is not None and self._proc.poll() is None:
            self._cancelled.set()
            self._signal_group(kill=True)
        for thread in self._threads:
            thread.join(timeout=10)

    def __enter__(self) -> ChildRun:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- following it -------------------------------------------------------------------------

    def poll(self) -> list[ProgressEvent]:
        """The events since the last call (never blocks); ``outcome`` is set once it ended."""
        events = []
        while self.outcome is None:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            event = self._take(item)
            if event is not None:
                events.append(event)
        self._check_time_limit()
        return events

    def run(self, on_event: Callable[[ProgressEvent], bool | None] | None = None,
            on_tick: Callable[[], bool | None] | None = None,
            tick_s: float = 0.5) -> Outcome:
        """Block until the child ends, calling ``on_event`` for each event and ``on_tick``
        about every ``tick_s``; either may return True to cancel the run. No callback runs
        once a cancel was asked for."""
        if self._proc is None:
            self.start()
        next_tick = time.monotonic() + tick_s
        while self.outcome is None:
            try:
                item = self._queue.get(timeout=max(0.0, min(tick_s, next_tick -
                                                            time.monotonic())))
            except queue.Empty:
                item = None
            event = self._take(item) if item is not None else None
            if event is not None and on_event is not None and not self.cancel_requested \
                    and on_event(event):
                self.cancel()
            if time.monotonic() >= next_tick:
                next_tick = time.monotonic() + tick_s
                if on_tick is not None and not self.cancel_requested and on_tick():
                    self.cancel()
            self._check_time_limit()
        return self.outcome

    def _take(self, item: ProgressEvent | _Ended) -> ProgressEvent | None:
        if isinstance(item, _Ended):
            assert self._proc is not None
            self.outcome = Outcome(self._proc.returncode, tuple(self._stderr),
                                   self._cancelled.is_set(), self._timed_out,
                                   time.monotonic() - self._started_at, self.time_limit_s)
            return None
        self.last_event = item
        return item

    def _check_time_limit(self) -> None:
        if (self.time_limit_s and self.outcome is None and not self._timed_out
                and not self._cancelled.is_set()
                and time.monotonic() - self._started_at > self.time_limit_s):
            _log.warning("the renderer ran past its %g s limit; stopping it", self.time_limit_s)
            self._timed_out = True
            self._terminate()

    # -- threads (no bpy here) ----------------------------------------------------------------

    def _read_stdout(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        with self._proc.stdout as stream:
            for raw in stream:
                try:
                    event = parse_event_line(raw)
                except errors.TshirtError as exc:
                    _log.debug("unreadable progress line %r: %s", raw[:200], exc.message)
                    continue
                if event is not None:
                    self._queue.put(event)

    def _read_stderr(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        with self._proc.stderr as stream:
            for raw in stream:
                line = raw.decode("utf-8", "replace").rstrip()
                if line:
                    self._stderr.append(line)
                    _log.debug("renderer stderr: %s", line)

    def _wait(self, *readers: threading.Thread) -> None:
        assert self._proc is not None
        self._proc.wait()
        # Helpers the renderer started may still hold the pipes open: they go with it.
        self._signal_group(kill=True, leader_gone=True)
        for reader in readers:
            reader.join(timeout=5)
        self._queue.put(_ENDED)

    def _terminate(self) -> None:
        self._signal_group(kill=False)
        killer = threading.Timer(self.kill_grace_s, self._kill_if_alive)
        killer.daemon = True
        killer.start()

    def _kill_if_alive(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            _log.warning("the renderer ignored SIGTERM for %g s; killing it", self.kill_grace_s)
            self._signal_group(kill=True)

    def _signal_group(self, *, kill: bool, leader_gone: bool = False) -> None:
        proc = self._proc
        if proc is None or (proc.poll() is not None and not leader_gone):
            return
        try:
            if os.name == "nt":
                if leader_gone:
                    return
                if kill:
                    subprocess.run(["taskkill", "/F", "/T", "/PID", str(proc.pid)],  # noqa: S607
                                   capture_output=True, check=False)
                else:
                    proc.send_signal(signal.CTRL_BREAK_EVENT)  # type: ignore[attr-defined]
            else:
                os.killpg(proc.pid, signal.SIGKILL if kill else signal.SIGTERM)
        except (ProcessLookupError, PermissionError, OSError) as exc:
            _log.debug("signalling the renderer's process group failed: %s", exc)
