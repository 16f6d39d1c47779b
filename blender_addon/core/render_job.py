"""The render child process and its progress reader, in plain Python (no ``bpy``).

The panel never renders inside Blender's own process: it starts the headless CLI as a child in
its own process group, two reader threads turn the child's stdout/stderr into small messages on
a queue, and the add-on's modal timer (or a script's wait loop) drains that queue. Threads here
never touch ``bpy``; everything is testable with a fake child under plain CPython.
"""

from __future__ import annotations

import collections
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .._shared import contracts, errors

_log = logging.getLogger(__name__)

#: Exit status of a cancelled render (128 + SIGINT, as shells report it).
EXIT_CANCELLED = 130
#: Seconds between the polite SIGTERM and the SIGKILL when cancelling.
KILL_GRACE_S = 5.0
STDERR_TAIL_LINES = 40


# ---------------------------------------------------------------------------------------------
# the command line


@dataclass(frozen=True)
class RenderRequest:
    """What the panel asks for, as the CLI's options (already validated by the caller)."""

    design: str
    preset: str
    color: str
    template: str
    quality: str
    angles: tuple[str, ...]
    animation: bool
    background: str
    output_dir: str
    resolution: int | None = None
    samples: int | None = None
    frames: int | None = None

    def cli_args(self) -> list[str]:
        args = [
            "--design", self.design,
            "--preset", self.preset,
            "--color", self.color,
            "--template", self.template,
            "--quality", self.quality,
            "--angles", ",".join(self.angles),
            "--background", self.background,
            "--out", self.output_dir,
            "--json",
        ]
        if not self.animation:
            args.append("--no-animation")
        elif self.frames:
            args += ["--frames", str(self.frames)]
        if self.resolution:
            args += ["--resolution", str(self.resolution)]
        if self.samples:
            args += ["--samples", str(self.samples)]
        return args


@dataclass(frozen=True)
class ChildCommand:
    argv: list[str]
    #: Extra environment for the child (merged over ``os.environ``).
    env: dict[str, str] = field(default_factory=dict)


def child_command(
    request_args: Sequence[str],
    *,
    package_dir: str | Path,
    blender_binary: str = "",
    python_executable: str = sys.executable,
) -> ChildCommand:
    """The argument list (never a shell string) that renders ``request_args``.

    In a real Blender the child is Blender itself running the package's ``cli.py`` headless;
    with the ``bpy`` wheel (no Blender binary) it is this Python running ``<package>.cli`` with
    the package's parent folder on ``PYTHONPATH``.
    """
    package_dir = Path(package_dir).resolve()
    if blender_binary:
        argv = [
            blender_binary, "-b", "--factory-startup", "--disable-autoexec",
            "--python-exit-code", "1", "--python", str(package_dir / "cli.py"), "--",
            *request_args,
        ]
        return ChildCommand(argv)
    parent = str(package_dir.parent)
    old = os.environ.get("PYTHONPATH", "")
    pythonpath = parent + (os.pathsep + old if old else "")
    argv = [python_executable, "-m", f"{package_dir.name}.cli", *request_args]
    return ChildCommand(argv, {"PYTHONPATH": pythonpath, "PYTHONUNBUFFERED": "1"})


# ---------------------------------------------------------------------------------------------
# messages from the reader threads


@dataclass(frozen=True)
class Progress:
    event: contracts.ProgressEvent


@dataclass(frozen=True)
class Finished:
    returncode: int
    #: The last lines the child wrote on stderr (its one-line error is the last of them).
    stderr_tail: tuple[str, ...]
    cancelled: bool

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def error(self) -> errors.TshirtError | None:
        """The project's error for a failed child; None when it succeeded."""
        if self.ok:
            return None
        if self.cancelled or self.returncode in (EXIT_CANCELLED, -signal.SIGTERM,
                                                 -signal.SIGINT):
            return errors.RenderCancelled("The render was cancelled.")
        message = next((line for line in reversed(self.stderr_tail) if line.strip()), "")
        if not message:
            message = f"The renderer stopped with exit status {self.returncode}."
        return errors.error_for_exit_code(self.returncode, message.strip())


Message = Progress | Finished


def progress_fraction(event: contracts.ProgressEvent) -> float:
    """Overall progress 0..1: every still and every turntable frame counts the same."""
    total = event.images_total + event.frames_total
    if event.stage == "done":
        return 1.0
    if total <= 0:
        return 0.0
    return min(1.0, (event.images_done + event.frames_done) / total)


def stage_text(event: contracts.ProgressEvent) -> str:
    """One short line for the panel, e.g. ``Rendering stills 2/6``."""
    if event.stage == "rendering" and event.images_total:
        text = f"Rendering stills {event.images_done}/{event.images_total}"
    elif event.stage == "animating" and event.frames_total:
        text = f"Turntable frame {event.frames_done}/{event.frames_total}"
    else:
        text = event.stage.capitalize()
    return f"{text}: {event.message}" if event.message else text


# ---------------------------------------------------------------------------------------------
# the job


class RenderJob:
    """One child render. Start it, drain ``poll()`` from the UI thread, ``cancel()`` any time.

    Cleanup is guaranteed: ``close()`` (also used by ``with``) kills the whole process group if
    the child is still alive and joins the reader threads.
    """

    def __init__(self, command: ChildCommand, *, time_limit_s: float | None = None) -> None:
        self.command = command
        self.time_limit_s = time_limit_s
        self.messages: queue.Queue[Message] = queue.Queue()
        self.last_event: contracts.ProgressEvent | None = None
        self.finished: Finished | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._threads: list[threading.Thread] = []
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
        self._cancel_requested = threading.Event()
        self._started_at = 0.0

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> RenderJob:
        env = dict(os.environ)
        env.update(self.command.env)
        kwargs: dict = {}
        if os.name == "nt":
            kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined]
        else:
            kwargs["start_new_session"] = True
        _log.info("starting render: %s", subprocess.list2cmdline(self.command.argv))
        try:
            self._proc = subprocess.Popen(  # noqa: S603 - an argument list, no shell
                self.command.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, env=env, **kwargs,
            )
        except OSError as exc:
            raise errors.RenderFailed(
                f"Could not start the renderer ({self.command.argv[0]}): {exc.strerror or exc}."
            ) from exc
        self._started_at = time.monotonic()
        out = threading.Thread(target=self._read_stdout, name="tshirt-render-stdout", daemon=True)
        err = threading.Thread(target=self._read_stderr, name="tshirt-render-stderr", daemon=True)
        waiter = threading.Thread(target=self._wait, args=(out, err), name="tshirt-render-wait",
                                  daemon=True)
        self._threads = [out, err, waiter]
        for thread in self._threads:
            thread.start()
        return self

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self.finished is None

    @property
    def cancel_requested(self) -> bool:
        return self._cancel_requested.is_set()

    def cancel(self) -> None:
        """Stop the child: SIGTERM to its process group now, SIGKILL after a grace period."""
        if self._proc is None or self._proc.poll() is not None:
            self._cancel_requested.set()
            return
        if not self._cancel_requested.is_set():
            self._cancel_requested.set()
            _log.info("cancelling render (pid %s)", self._proc.pid)
            self._signal_group(terminate=True)
            killer = threading.Timer(KILL_GRACE_S, self._kill_if_alive)
            killer.daemon = True
            killer.start()

    def close(self) -> None:
        """Make sure nothing outlives the job: no child, no reader threads."""
        if self._proc is not None and self._proc.poll() is None:
            self._cancel_requested.set()
            self._signal_group(terminate=False)
        for thread in self._threads:
            thread.join(timeout=10)

    def __enter__(self) -> RenderJob:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the UI side ----------------------------------------------------------------------

    def poll(self) -> list[Message]:
        """Everything the threads posted since the last call (never blocks)."""
        got: list[Message] = []
        while True:
            try:
                message = self.messages.get_nowait()
            except queue.Empty:
                break
            got.append(message)
            if isinstance(message, Progress):
                self.last_event = message.event
            else:
                self.finished = message
        if (self.time_limit_s and self.finished is None and not self.cancel_requested
                and time.monotonic() - self._started_at > self.time_limit_s):
            _log.warning("render ran past its %.0f s limit; stopping it", self.time_limit_s)
            self._stderr_tail.append(
                f"The render took longer than {self.time_limit_s:.0f} seconds and was stopped."
            )
            self._signal_group(terminate=False)
        return got

    def wait(self, timeout: float | None = None, interval: float = 0.1,
             on_message: Callable[[Message], None] | None = None) -> Finished:
        """Block until the child ends (scripts and tests); messages go to ``on_message``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            for message in self.poll():
                if on_message is not None:
                    on_message(message)
            if self.finished is not None:
                return self.finished
            if deadline is not None and time.monotonic() > deadline:
                self.cancel()
                deadline = None
            time.sleep(interval)

    # -- threads (no bpy here) ------------------------------------------------------------

    def _read_stdout(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        with self._proc.stdout as stream:
            for raw in stream:
                try:
                    event = contracts.parse_event_line(raw)
                except errors.TshirtError as exc:
                    _log.debug("unreadable progress line %r: %s", raw[:200], exc.message)
                    continue
                if event is None:
                    _log.debug("render: %s", raw.decode("utf-8", "replace").rstrip())
                else:
                    self.messages.put(Progress(event))

    def _read_stderr(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        with self._proc.stderr as stream:
            for raw in stream:
                line = raw.decode("utf-8", "replace").rstrip()
                if line:
                    self._stderr_tail.append(line)
                    _log.debug("render stderr: %s", line)

    def _wait(self, *readers: threading.Thread) -> None:
        assert self._proc is not None
        for reader in readers:
            reader.join()
        returncode = self._proc.wait()
        self.messages.put(Finished(returncode, tuple(self._stderr_tail),
                                   self._cancel_requested.is_set()))

    def _kill_if_alive(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            _log.warning("render did not stop after %.0f s; killing it", KILL_GRACE_S)
            self._signal_group(terminate=False)

    def _signal_group(self, *, terminate: bool) -> None:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        try:
            if os.name == "nt":
                if terminate:
                    proc.send_signal(signal.CTRL_BREAK_EVENT)  # type: ignore[attr-defined]
                else:
                    subprocess.run(["taskkill", "/F", "/T", "/PID", str(proc.pid)],  # noqa: S607
                                   capture_output=True, check=False)
            else:
                os.killpg(proc.pid, signal.SIGTERM if terminate else signal.SIGKILL)
        except (ProcessLookupError, PermissionError, OSError) as exc:
            _log.debug("signalling render process group failed: %s", exc)


def still_files(output_dir: str | Path, angles: Iterable[str]) -> dict[str, Path]:
    """The stills a finished render left, by angle, read from its manifest when it has one."""
    output_dir = Path(output_dir)
    manifest_path = output_dir / contracts.MANIFEST_NAME
    found: dict[str, Path] = {}
    if manifest_path.is_file():
        try:
            manifest = contracts.Manifest.from_json(manifest_path.read_text(encoding="utf-8"))
        except (OSError, errors.TshirtError) as exc:
            _log.warning("could not read %s: %s", manifest_path, exc)
        else:
            for angle, output in manifest.stills.items():
                found[angle] = output_dir / output.file
            return found
    for angle in angles:
        path = output_dir / f"{angle}.png"
        if path.is_file():
            found[angle] = path
    return found

