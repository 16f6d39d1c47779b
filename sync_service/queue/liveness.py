"""Who consumes the render queue, and whether they still live.

Every queue process (`serve`'s own, each `tshirt-service worker`) keeps a row in
`queue_workers` and beats it, together with the heartbeat of each job it holds, from a thread of
its own (`Heartbeat`): the beat goes on while Blender is busy, a design downloads or outputs
upload, so a stall limit of a few seconds is safe and a dead process is noticed in seconds.
`/health` lists the rows; `serve`'s supervisor records in them how its queue process ended.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..db import Database
from ..models import QueueWorker, utcnow

_log = logging.getLogger(__name__)

#: Rows of processes not seen for this long are deleted (names change with every restart).
FORGET_AFTER_S = 7 * 24 * 3600


def register(db: Database, name: str, kind: str, render_threads: int,
             pid: int | None = None) -> None:
    """Record that `name` runs (again) now; its count of exits is kept."""
    now = utcnow()
    values = {"kind": kind, "host": socket.gethostname(), "pid": os.getpid() if pid is None
              else pid, "render_threads": render_threads, "started_at": now, "last_seen": now,
              "stopped_at": None}
    with db.session() as session:
        if _update(session, name, values):
            return
        session.add(QueueWorker(name=name, exits=0, **values))
        try:
            session.commit()
        except IntegrityError:  # registered by its supervisor meanwhile
            session.rollback()
            _update(session, name, values)


def beat(db: Database, name: str) -> bool:
    """The process's heartbeat; False when it has no row (never registered, or forgotten)."""
    with db.session() as session:
        return _update(session, name, {"last_seen": utcnow()})


def stopped(db: Database, name: str, exit_cause: str | None = None) -> None:
    """`name` ended: asked to (no cause), or as its supervisor saw (`exit_cause`, counted)."""
    values: dict[str, object] = {"stopped_at": utcnow()}
    if exit_cause is not None:
        values.update(exits=QueueWorker.exits + 1, last_exit=exit_cause[:200])
    with db.session() as session:
        _update(session, name, values)


def last_seen(db: Database, name: str) -> datetime | None:
    with db.session() as session:
        return session.scalar(select(QueueWorker.last_seen).where(QueueWorker.name == name))


def forget_old(db: Database, now: datetime | None = None) -> int:
    cutoff = (now or utcnow()) - timedelta(seconds=FORGET_AFTER_S)
    if db.engine.dialect.name == "sqlite":
        cutoff = cutoff.replace(tzinfo=None)  # SQLite stores naive UTC
    with db.session() as session:
        result = session.execute(delete(QueueWorker).where(QueueWorker.last_seen < cutoff)
                                 .execution_options(synchronize_session=False))
        session.commit()
        return result.rowcount


def _update(session: Session, name: str, values: dict[str, object]) -> bool:
    result = session.execute(
        update(QueueWorker).where(QueueWorker.name == name).values(**values)
        .execution_options(synchronize_session=False))
    session.commit()
    return result.rowcount == 1


class Heartbeat:
    """Calls `beat` every `interval_s` on a daemon thread until stopped. A failing beat (the
    database away) is logged once per outage, not once a second."""

    def __init__(self, name: str, interval_s: float, beat: Callable[[], None]) -> None:
        self.name = name
        self.interval_s = interval_s
        self.beat = beat
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the thread unless it runs already (callable from any thread, any number of
        times)."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        self._stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _loop(self) -> None:
        failing = False
        while not self._stop.wait(self.interval_s):
            try:
                self.beat()
            except Exception as error:  # noqa: BLE001 - keep beating; the database may return
                if not failing:
                    _log.warning("%s: the heartbeat could not be written (%s: %s); retrying",
                                 self.name, type(error).__name__, error)
                failing = True
            else:
                if failing:
                    _log.info("%s: the heartbeat is written again", self.name)
                failing = False
