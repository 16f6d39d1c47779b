"""Whether a worker takes new jobs now.

Not while one of its finished renders waits for the service (more renders would only pile up
on its disk), and not while the service or the database is known to be away: a job taken then
could not be fetched or recorded. A task that arrives meanwhile is handed back to the queue
untouched (another machine may be fine) and the service is probed again with back-off.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator

from sqlalchemy import text
from sqlalchemy.exc import InterfaceError, OperationalError

from shared.errors import TshirtError

from ..config import QueueSettings
from ..db import Database
from .remote import ServiceAway, TokenRefused

_log = logging.getLogger(__name__)

#: Trouble with what a worker talks to, never the job's fault: retried, no attempt spent.
OUTAGE_ERRORS: tuple[type[Exception], ...] = (ServiceAway, TokenRefused, OperationalError,
                                              InterfaceError)


def outage_reason(error: Exception) -> str:
    """One sentence for an OUTAGE_ERRORS error (SQLAlchemy's own text spans lines and SQL)."""
    if isinstance(error, TshirtError):
        return error.message
    cause = getattr(error, "orig", None) or error
    text = " ".join(str(cause).split())[:200]
    return f"The database cannot be reached ({type(cause).__name__}: {text})."


def ping(db: Database) -> None:
    """The probe of a worker that shares the service's disk: its database answers."""
    with db.engine.connect() as connection:
        connection.execute(text("SELECT 1"))


class ServiceGate:
    def __init__(self, settings: QueueSettings, probe: Callable[[], None]) -> None:
        self.settings = settings
        self.probe = probe
        self._lock = threading.Lock()
        self._holds = 0
        self._tries = 0
        self._next_probe = 0.0

    @contextlib.contextmanager
    def holding(self) -> Iterator[None]:
        """Closed while a finished render waits for delivery."""
        with self._lock:
            self._holds += 1
        try:
            yield
        finally:
            with self._lock:
                self._holds -= 1
                self._tries = 0  # the delivery got through, or gave up: probe afresh

    def away(self, reason: str) -> float:
        """The service (or the database) could not be reached; returns the seconds until the
        next probe."""
        with self._lock:
            self._tries += 1
            delay = self.settings.outage_delay(self._tries)
            self._next_probe = time.monotonic() + delay
        _log.warning("%s No new jobs taken; next check in %.1f s.", reason, delay)
        return delay

    def is_open(self) -> bool:
        with self._lock:
            if self._holds:
                return False
            if not self._tries:
                return True
            if time.monotonic() < self._next_probe:
                return False
        try:
            self.probe()
        except (*OUTAGE_ERRORS, TshirtError) as error:  # whatever answers is not the service
            self.away(outage_reason(error))
            return False
        with self._lock:
            self._tries = 0
        _log.info("the service answers again; taking jobs")
        return True
