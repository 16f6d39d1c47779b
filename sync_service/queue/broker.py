"""What a worker knows about its broker: which errors mean "the broker is away", a log filter
that turns those into one line with a back-off instead of a traceback per poll, and the marker
by which a worker tells the service's queue from an empty one.

The marker: the service's queue process writes `tshirt:service` (at start, then every half
minute: a Redis restarted without its data has it back soon) into the render queue's own
key-value storage (with `REDIS_URL`, a field of the hash `huey.results.<queue
name>-render` in that Redis database; without, `queue.db` in the data directory): the id of
the service's data directory and the queue name. A worker that finds no marker is looking at a
Redis host, port, database number or `TSHIRT_QUEUE_NAME` that the service does not use (jobs
would never arrive), and refuses to start. The data directory's id (`Storage.data_id`) tells a
worker whether it shares the service's disk: the same id, local files; another,
`TSHIRT_SERVICE_URL` is needed.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from huey import Huey
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

MARKER_KEY = "tshirt:service"
#: Errors of Huey's storage that mean the broker cannot be used now (not a bug of ours).
BROKER_ERRORS: tuple[type[BaseException], ...] = (RedisConnectionError, RedisTimeoutError,
                                                   sqlite3.OperationalError, OSError)
#: Huey's loggers that report a failed poll, schedule read or enqueue with a traceback.
HUEY_LOGGERS = ("huey", "huey.consumer", "huey.consumer.Worker", "huey.consumer.Scheduler")
#: The same broker error is logged at once, then at most every 2, 4, ... 60 s while it lasts.
LOG_FIRST_GAP_S = 2.0
LOG_MAX_GAP_S = 60.0


def redacted(url: str) -> str:
    """`url` without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def publish_marker(huey: Huey, data_id: str, queue_name: str) -> None:
    huey.put(MARKER_KEY, {"data_id": data_id, "queue": queue_name, "since": time.time()})


def read_marker(huey: Huey) -> dict[str, Any] | None:
    """The service's marker, or None; raises one of BROKER_ERRORS when the broker is away."""
    value = huey.get(MARKER_KEY, peek=True)
    return value if isinstance(value, dict) else None


def describe(error: BaseException) -> str:
    text = " ".join(str(error).split())[:300]
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class OneLineBrokerErrors(logging.Filter):
    """Huey logs every failed poll of an unreachable broker with a full traceback, several a
    second. This keeps the first as one line, then lets the same message through with a
    doubling gap (saying how many were held back); other records pass untouched."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        #: message -> (next time it may be logged, current gap, records held back)
        self._held: dict[str, tuple[float, float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if not isinstance(error, BROKER_ERRORS):
            return True
        message = f"{record.getMessage()}: the broker is unreachable ({describe(error)})"
        now = time.monotonic()
        with self._lock:
            due, gap, held = self._held.get(message, (now, LOG_FIRST_GAP_S / 2, 0))
            if now < due:
                self._held[message] = (due, gap, held + 1)
                return False
            gap = min(LOG_MAX_GAP_S, gap * 2)
            self._held[message] = (now + gap, gap, 0)
        suffix = f" ({held} more since the last report)" if held else ""
        record.msg, record.args = f"{message}; retrying{suffix}", None
        record.exc_info, record.exc_text, record.levelno = None, None, logging.WARNING
        record.levelname = "WARNING"
        return True


def log_broker_errors_in_one_line() -> None:
    """Install the filter on Huey's loggers (filters do not inherit: each logger gets it)."""
    broker_filter = OneLineBrokerErrors()
    for name in HUEY_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, OneLineBrokerErrors) for f in logger.filters):
            logger.addFilter(broker_filter)
