"""`serve`'s supervisor: it runs the queue process, keeps it running, and looks for dead workers
from a process that never renders.

The queue process (render threads, the scheduled cleanup, the store push) is a fresh Python
started with an argument list; it dies with the thread that started it (see `die_with_parent`).
When it ends without being asked to, the supervisor logs how (exit code or signal), records it
in the process's `queue_workers` row, requeues the jobs it held at once (not after the stall
limit), removes their scratch folders and starts it again, after 0.5 s, then 1, 2, 4 s (after
`STOPPED_GRACE_S` when it was stopped by a signal of its own: SIGTERM to the whole process
group, from a terminal or a service manager, stops `serve` too in a moment). One that stops
beating for `stall_after_s` (hung, or stopped with SIGSTOP) is killed and replaced the same
way; before its first beat it has `STARTUP_LIMIT_S` (Python, the app and its checks start
first). When it ends `RESTART_LIMIT` times within `RESTART_WINDOW_S`, restarting is not
helping: the supervisor gives up and `serve` exits non-zero with one line, so that systemd or a
container runtime can act.

Every `stall_check_s` it also runs the stall check for every worker (`stalls.requeue_stalled`):
this process survives any queue process, local or remote, on SQLite and Redis alike.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

from shared.backoff import backoff_delay

from ..config import Settings
from ..db import Database
from ..jobs.storage import Storage
from . import liveness
from .runtime import QueueRuntime
from .stalls import remove_stale_scratch, requeue_jobs_of

_log = logging.getLogger(__name__)

RESTART_LIMIT = 5
RESTART_WINDOW_S = 60.0
RESTART_DELAY_S = 0.5
RESTART_MAX_DELAY_S = 4.0
#: What the queue process answers to SIGTERM or SIGINT (or dies of, before it set its handlers).
STOPPED_CODES = frozenset({0, -signal.SIGTERM, -signal.SIGINT})
#: The HTTP server takes up to its kill time-out (5 s) to stop; then `serve` stops the queue.
STOPPED_GRACE_S = 10.0
#: How long a new queue process may take to send its first heartbeat.
STARTUP_LIMIT_S = 60.0
#: How often the rows of processes not seen for days are deleted.
FORGET_EVERY_S = 3600.0
_PR_SET_PDEATHSIG = 1


def exit_cause(returncode: int) -> str:
    """How a process ended, in words: `exit code 1`, `killed by SIGKILL`."""
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


def die_with_parent(parent_pid: int) -> None:
    """Ask Linux to SIGTERM this process when the thread that started it ends (so a `serve`
    killed with -9 leaves no queue process behind; SIGTERM requeues its renders), and end now
    if that parent is already gone."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM),
                                                    0, 0, 0)
    if os.getppid() != parent_pid:
        raise SystemExit(f"the serve process {parent_pid} is gone")


class Supervisor:
    """Runs `command` as the queue process named `name` (its `TSHIRT_WORKER_NAME`), and the
    stall check, on two threads of the calling process. `on_give_up` is called once, with one
    sentence, when restarting does not help."""

    def __init__(self, settings: Settings, name: str, command: Sequence[str], *,
                 on_give_up: Callable[[str], None], env: Mapping[str, str] | None = None) -> None:
        self.settings = settings
        self.name = name
        self.command = list(command)
        self.env = {**(os.environ if env is None else env), "TSHIRT_WORKER_NAME": name}
        self.on_give_up = on_give_up
        self.db = Database(settings.database_url, pool_size=2)
        self.storage = Storage(settings.data_dir)
        # Only for its enqueue and stall check: it starts no consumer here.
        self.queue = QueueRuntime(settings.queue, self.db, self.storage,
                                  completed=lambda _job_id: None)
        self.process: subprocess.Popen[bytes] | None = None
        #: Its heartbeat as registered at the start: a later one is its own.
        self._first_seen: datetime | None = None
        self.exit_code: int | None = None
        self.ends: collections.deque[float] = collections.deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads = [threading.Thread(target=self._watch, name="queue-supervisor",
                                          daemon=True),
                         threading.Thread(target=self._check, name="stall-check", daemon=True)]

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM the queue process (it stops its renders and requeues their jobs), wait for
        it and the threads; returns its exit code (None if it never ran)."""
        with self._lock:
            self._stopping.set()
            process = self.process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
        for thread in self._threads:
            thread.join(timeout)
        self.db.dispose()
        return self.exit_code

    # -- the queue process ---------------------------------------------------------------------

    def _spawn(self) -> subprocess.Popen[bytes] | None:
        with self._lock:
            if self._stopping.is_set():
                return None
            self.process = subprocess.Popen(  # noqa: S603 - an argument list, no shell
                self.command, env=self.env, stdin=subprocess.DEVNULL, close_fds=True)
        _log.info("queue process %s started (pid %d)", self.name, self.process.pid)
        # Its row is fresh from now on, so that /health and the hang check see it starting.
        self._first_seen = None
        with contextlib.suppress(Exception):
            liveness.register(self.db, self.name, "serve", self.settings.queue.workers,
                              pid=self.process.pid)
            self._first_seen = liveness.last_seen(self.db, self.name)
        return self.process

    def _watch(self) -> None:
        while (process := self._spawn()) is not None:
            code = process.wait()
            if self._stopping.is_set():
                self.exit_code = code
                return
            delay = self._ended(process.pid, code)
            if delay is None or self._stopping.wait(delay):
                return

    def _ended(self, pid: int, code: int) -> float | None:
        """Deal with an end the supervisor did not ask for; the delay before the restart, or
        None when restarting is not helping."""
        cause = exit_cause(code)
        now = time.monotonic()
        self.ends.append(now)
        while self.ends and now - self.ends[0] > RESTART_WINDOW_S:
            self.ends.popleft()
        requeued: list[str] = []
        try:
            liveness.stopped(self.db, self.name, cause)
            requeued = requeue_jobs_of(self.db, self.settings.queue, self.queue.enqueue_in,
                                       self.name, cause)
            remove_stale_scratch(self.db, self.storage)
        except Exception:  # noqa: BLE001 - the stall check requeues them later
            _log.exception("queue process %s: its jobs could not be requeued now", self.name)
        if len(self.ends) >= RESTART_LIMIT:
            message = (f"The queue process keeps ending ({len(self.ends)} times in "
                       f"{RESTART_WINDOW_S:.0f} s, last: {cause}); stopping so that the "
                       f"service manager can restart the service.")
            _log.error("queue process %s (pid %d) ended: %s. %s", self.name, pid, cause,
                       message)
            self.on_give_up(message)
            return None
        delay = backoff_delay(len(self.ends), RESTART_DELAY_S, RESTART_MAX_DELAY_S)
        if code in STOPPED_CODES:
            delay = STOPPED_GRACE_S
        _log.warning("queue process %s (pid %d) ended: %s; %d job(s) requeued; restarting in "
                     "%.1f s (%d end(s) in the last %.0f s)", self.name, pid, cause,
                     len(requeued), delay, len(self.ends), RESTART_WINDOW_S)
        return delay

    # -- the checks ----------------------------------------------------------------------------

    def _check(self) -> None:
        forgotten_at = 0.0
        while not self._stopping.wait(self.settings.queue.stall_check_s):
            try:
                self._kill_if_hung()
                if self.queue.check_stalls():
                    remove_stale_scratch(self.db, self.storage)
                if time.monotonic() - forgotten_at > FORGET_EVERY_S:
                    liveness.forget_old(self.db)
                    forgotten_at = time.monotonic()
            except Exception:  # noqa: BLE001 - keep checking; the database may come back
                _log.exception("stall check failed")

    def _kill_if_hung(self) -> None:
        """SIGKILL a queue process that runs but stopped beating (the watcher then restarts
        it). Only on a heartbeat read: with the database away nobody can beat."""
        with self._lock:
            process = self.process
        if process is None or process.poll() is not None:
            return
        seen = liveness.last_seen(self.db, self.name)
        if seen is None:
            return
        beaten = self._first_seen is not None and seen > self._first_seen
        limit = self.settings.queue.stall_after_s if beaten else STARTUP_LIMIT_S
        if seen.tzinfo is None:
            seen = seen.replace(tzinfo=UTC)  # SQLite hands back naive UTC
        silent = (datetime.now(UTC) - seen).total_seconds()
        if silent > limit and process.poll() is None:
            _log.error("queue process %s (pid %d) sent no heartbeat for %.0f s; killing it",
                       self.name, process.pid, silent)
            with contextlib.suppress(ProcessLookupError):
                process.kill()
