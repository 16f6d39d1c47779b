"""Output files of one job: written under temporary names, renamed when complete, and removed
if the job is cancelled or fails, so nothing half-written ever looks finished.

Cancellation: SIGINT/SIGTERM wake a watcher thread through `signal.set_wakeup_fd`. Blender
renders with the GIL released, so the watcher runs even while the main thread is inside a long
Cycles render; it waits for any rename in progress, removes this job's files and ends the process
with the `cancelled` exit code. No `bpy` here.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import shutil
import signal
import socket
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from .._shared import errors

_log = logging.getLogger(__name__)
TEMP_PREFIX = ".partial-"


class JobFiles:
    """The files one job creates in its output directory."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory).expanduser().absolute()
        self._created_dirs: list[Path] = []
        self._files: list[Path] = []
        self._temps: set[Path] = set()
        self.lock = threading.RLock()

    def prepare(self) -> None:
        """Create the directory and prove it is writable (before any rendering time is spent)."""
        missing = []
        path = self.directory
        while not path.exists() and path != path.parent:
            missing.append(path)
            path = path.parent
        try:
            for folder in reversed(missing):
                folder.mkdir()
                self._created_dirs.append(folder)
            if not self.directory.is_dir():
                raise NotADirectoryError(str(self.directory))
            probe = self.directory / f"{TEMP_PREFIX}probe-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise errors.InvalidInput(
                f"Cannot write to the output directory {self.directory}: "
                f"{exc.strerror or exc}.", code="output_not_writable") from None

    def temp(self, name: str) -> Path:
        """A temporary path for `name` (same directory, same extension, hidden)."""
        path = self.directory / f"{TEMP_PREFIX}{os.getpid()}-{name}"
        with self.lock:
            self._temps.add(path)
        return path

    def commit(self, temp: Path, name: str) -> Path:
        """Atomically give a finished temporary file its real name."""
        final = self.directory / name
        with self.lock:
            os.replace(temp, final)
            self._temps.discard(temp)
            self._files.append(final)
        return final

    def write_text(self, name: str, text: str) -> Path:
        temp = self.temp(name)
        temp.write_text(text, encoding="utf-8")
        return self.commit(temp, name)

    def remove_all(self) -> None:
        """Remove everything this job wrote (temporaries and finished files)."""
        with self.lock:
            for path in [*self._temps, *self._files]:
                _remove(path)
            self._temps.clear()
            self._files.clear()
            for folder in reversed(self._created_dirs):
                with contextlib.suppress(OSError):
                    folder.rmdir()

    def remove_temps(self) -> None:
        with self.lock:
            for path in self._temps:
                _remove(path)
            self._temps.clear()


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


class Cancellation:
    """Stops the process cleanly on SIGINT/SIGTERM, whatever the main thread is doing.

    A context manager around the work: on the way out the watcher thread is stopped and joined
    and the previous handlers come back (and at exit, should a caller only `install()`). A
    watcher left running into interpreter shutdown is woken there (its socket is closed by the
    garbage collector) and Blender 4.2 crashes on exit (SIGSEGV, exit 139) under any daemon
    thread that runs Python code that late.
    """

    def __init__(self, on_cancel: Callable[[], None]) -> None:
        self._on_cancel = on_cancel
        self.current: JobFiles | None = None
        self._thread: threading.Thread | None = None
        self._writer: socket.socket | None = None
        self._previous: dict[int, object] = {}
        self._previous_fd = -1

    def __enter__(self) -> Cancellation:
        self.install()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.uninstall()

    def install(self) -> None:
        """Watch for the signals (only the main thread can set signal handlers)."""
        if self._thread is not None or threading.current_thread() is not threading.main_thread():
            return
        reader, writer = socket.socketpair()
        writer.setblocking(False)
        for sig in _SIGNALS:
            self._previous[sig] = signal.signal(sig, _wake_only)
        self._previous_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
        self._writer = writer
        self._thread = threading.Thread(target=self._watch, args=(reader,), name="tshirt-cancel",
                                        daemon=True)
        self._thread.start()
        atexit.register(self.uninstall)  # atexit runs before the daemon threads are torn down

    def uninstall(self) -> None:
        """Restore the previous handlers and end the watcher (closing its socket wakes it)."""
        if self._thread is None or self._writer is None:
            return
        atexit.unregister(self.uninstall)
        signal.set_wakeup_fd(self._previous_fd)
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        self._previous.clear()
        self._writer.close()
        self._thread.join()
        self._thread = self._writer = None

    def _watch(self, reader: socket.socket) -> None:
        with reader:
            data = reader.recv(1)
        if not data:
            return  # uninstalled
        try:
            job = self.current
            if job is not None:
                job.lock.acquire()  # wait for a rename in flight, then never release
                job.remove_all()
            self._on_cancel()
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(errors.EXIT_CODES["cancelled"])


_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _wake_only(signum: int, frame: object) -> None:
    """The Python-level handler does nothing: the wakeup fd byte makes the watcher act."""
