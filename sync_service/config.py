"""The service's configuration: one `Settings` read from the environment, overridable by the
mapping passed to `create_app` (tests pass a data directory, a database URL and tokens). Every
variable the service, its queue and its store push read is listed here, with its default.

Service:
- `TSHIRT_DATA_DIR` (`./data`, relative to the CWD): database, designs and outputs.
- `DATABASE_URL` (a SQLite file in the data directory): a SQLAlchemy URL, e.g.
  `postgresql+psycopg://user@host/db`.
- `TSHIRT_DB_POOL_SIZE` (`10`): database connections per process.
- `TSHIRT_API_TOKENS` (none): comma-separated bearer tokens accepted on `/admin`.
- `TSHIRT_DEV_MODE` (off): on lets the service start without a token, admin routes open.

Render queue (`Settings.queue`):
- `REDIS_URL` (unset): use `RedisHuey` on this server, for many machines; unset: `SqliteHuey`
  in the data directory.
- `TSHIRT_QUEUE_NAME` (`tshirt`): prefix of the Huey queue names.
- `TSHIRT_RENDER_WORKERS` (`1`): render threads embedded in `serve` (`0`: serve only), and
  the default of `worker`.
- `TSHIRT_RENDER_TIMEOUT_S` (`600`): time limit of one Blender run; the process group is killed.
- `TSHIRT_MAX_ATTEMPTS` (`3`): attempts for crashes, time-outs and lost workers (bad input and
  a full or read-only data directory: one; an unreachable service, database or broker: none).
- `TSHIRT_RETRY_DELAY_S` (`30`): back-off before attempt n+1 is this x 2^(n-1).
- `TSHIRT_HEARTBEAT_S` (`1`): how often each queue process writes its own heartbeat and that of
  every job it holds, from a thread of its own (it goes on while Blender is busy or outputs
  upload); a job's progress is written at most this often.
- `TSHIRT_STALL_AFTER_S` (`15`, at least 3 x the heartbeat): a queue process or a running job
  whose heartbeat is older is lost: its jobs are requeued (or failed after the attempt limit),
  and `serve` kills and restarts its own queue process. `TSHIRT_STALL_CHECK_S` (`5`): how often
  `serve` (which never renders) and every queue process look. A worker killed with -9 is thus
  noticed within their sum (20 s); a short limit is safe because the heartbeat is not Blender's.
- `TSHIRT_CONSUMER_NAME` (set by `serve` for its HTTP processes, never by hand): the worker name
  of the queue process `serve` supervises, whose heartbeat `/health` reports.
- `TSHIRT_CLEANUP_CRONTAB` (`0 2 * * *`, UTC): when the scheduled cleanup runs.
- `TSHIRT_BLENDER_BIN` (unset): a Blender binary; unset: `TSHIRT_BLENDER_PYTHON` (default: this
  Python), a Python with the `bpy` module, runs `-m blender_addon.cli`.
- `TSHIRT_RENDER_OVERRIDES` (unset): JSON applied to every render (resolution, samples, frames,
  fps, animation_format, turntable_method), for tests and benchmarks.
- `TSHIRT_SERVICE_URL` (unset): remote worker: fetch designs from and upload outputs to this
  service, sending `TSHIRT_SERVICE_TOKEN` (default: the first of `TSHIRT_API_TOKENS`; a remote
  worker without either refuses to start). Unset: the worker shares the service's data
  directory (checked at start, see `queue.preflight`).
- `TSHIRT_WORKER_NAME` (host:pid): how this process appears in a job's `worker_id`.
- `TSHIRT_UPLOAD_RETRY_DELAY_S` (`2`), `TSHIRT_UPLOAD_MAX_DELAY_S` (`60`): back-off (this x
  2^(n-1), at most the maximum) while the service, the database or the broker cannot be
  reached: a finished render's delivery, a design download, a requeue.
- `TSHIRT_UPLOAD_RETRY_FOR_S` (`21600`): how long a finished render waits on the worker's disk
  for the service (it survives a restart of the worker); after that it is given back to the
  queue without spending an attempt.

Store push (`Settings.media`):
- `MEDUSA_URL` (unset): the Medusa v2 backend, e.g. `https://shop.example.com`. Unset: no store
  is configured; completed renders stay `not_configured` and nothing fails.
- `MEDUSA_API_KEY`: a secret API key (`sk_...`), sent as HTTP Basic; or
  `MEDUSA_EMAIL` + `MEDUSA_PASSWORD`: an admin user, logged in for a bearer token.
- `TSHIRT_MEDIA_REPLACE` (`replace`): a new render of the same product + preset + colour
  replaces that render's images; `keep` adds the new ones beside them.
- `TSHIRT_MEDIA_TIMEOUT_S` (`30`): connect and read time-out of one request to the store.
- `TSHIRT_PUSH_RETRY_DELAY_S` (`30`): back-off before retry n is this x 2^(n-1), at most
  `TSHIRT_PUSH_MAX_DELAY_S` (`900`); retries go on until `TSHIRT_PUSH_RETRY_FOR_S` (`7200`)
  after the first attempt, then the push is `failed` (it can be pushed again by hand).
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.backoff import backoff_delay
from shared.errors import TshirtError
from shared.prints import MAX_PRINTS
from shared.validation import MAX_DESIGN_BYTES

SQLITE_NAME = "tshirt.db"
# Room for the multipart framing and the form fields beside a design at the size limit; the
# design itself is checked against MAX_DESIGN_BYTES separately.
MAX_REQUEST_BYTES = MAX_DESIGN_BYTES + 256 * 1024
# A job's create request may carry a design for each of its prints.
MAX_JOB_REQUEST_BYTES = MAX_PRINTS * MAX_DESIGN_BYTES + 256 * 1024
# A manifest upload carries six stills and a turntable video (or frames).
MAX_OUTPUTS_REQUEST_BYTES = 1024 * 1024 * 1024
# A manifest sent as a form field (a turntable rendered as PNG frames lists each frame).
MAX_MANIFEST_BYTES = 8 * 1024 * 1024

#: The words that mean yes and no, in settings and in form fields alike.
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})
REPLACE_MODES = ("replace", "keep")


class ConfigError(TshirtError):
    """The service is configured in a way it must not start with."""

    default_code = "config_error"


def parse_flag(value: Any) -> bool | None:
    """True or False for a bool or one of the yes/no words; None for anything else."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    return True if text in TRUE_WORDS else False if text in FALSE_WORDS else None


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / SQLITE_NAME).resolve()}"


def parse_crontab(text: str) -> dict[str, str]:
    parts = str(text).split()
    if len(parts) != 5:
        raise ConfigError(f"TSHIRT_CLEANUP_CRONTAB must have five fields "
                          f"(minute hour day month weekday), not {text!r}.")
    return dict(zip(("minute", "hour", "day", "month", "day_of_week"), parts, strict=True))


class _Source:
    """Raw values by name: an override when given (and not empty), else the environment's."""

    def __init__(self, overrides: Mapping[str, Any] | None,
                 environ: Mapping[str, str] | None) -> None:
        self.overrides = overrides or {}
        self.environ = os.environ if environ is None else environ

    def get(self, name: str, default: Any = None) -> Any:
        value = self.overrides[name] if name in self.overrides else self.environ.get(name)
        return default if value is None or value == "" else value

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.get(name, default)
        return None if value is None else str(value)

    def number(self, name: str, default: float, kind: type, low: float) -> Any:
        value = self.get(name, default)
        try:
            number = kind(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{name} must be a number, not {value!r}.") from None
        if number < low:
            raise ConfigError(f"{name} must be at least {low}, not {number}.")
        return number

    def flag(self, name: str) -> bool:
        value = self.get(name, False)
        flag = parse_flag(value)
        if flag is None:
            raise ConfigError(f"{name} must be one of {', '.join(sorted(TRUE_WORDS))} or "
                              f"{', '.join(sorted(FALSE_WORDS))}, not {value!r}.")
        return flag

    def tokens(self, name: str) -> tuple[str, ...]:
        value = self.get(name, ())
        items = value.split(",") if isinstance(value, str) else list(value)
        return tuple(t.strip() for t in items if t and t.strip())

    def json_object(self, name: str) -> dict[str, Any]:
        value = self.get(name, {})
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                value = None
        if not isinstance(value, dict):
            raise ConfigError(f"{name} must be a JSON object.")
        return dict(value)


@dataclass(frozen=True)
class QueueSettings:
    redis_url: str | None = None
    name: str = "tshirt"
    workers: int = 1
    render_timeout_s: float = 600.0
    max_attempts: int = 3
    retry_delay_s: float = 30.0
    heartbeat_s: float = 1.0
    stall_after_s: float = 15.0
    stall_check_s: float = 5.0
    cleanup_crontab: str = "0 2 * * *"
    blender_bin: str | None = None
    blender_python: str | None = None
    render_overrides: dict[str, Any] = field(default_factory=dict)
    service_url: str | None = None
    service_token: str | None = None
    worker_name: str = ""
    consumer_name: str | None = None
    upload_retry_delay_s: float = 2.0
    upload_max_delay_s: float = 60.0
    upload_retry_for_s: float = 21600.0

    @property
    def remote(self) -> bool:
        """Whether this process moves files over HTTP instead of sharing the data directory."""
        return bool(self.service_url)

    @classmethod
    def _read(cls, source: _Source, api_tokens: tuple[str, ...]) -> QueueSettings:
        crontab = str(source.get("TSHIRT_CLEANUP_CRONTAB", cls.cleanup_crontab))
        parse_crontab(crontab)
        url = source.text("TSHIRT_SERVICE_URL")
        heartbeat_s = source.number("TSHIRT_HEARTBEAT_S", cls.heartbeat_s, float, 0.05)
        return cls(
            redis_url=source.text("REDIS_URL"),
            name=str(source.get("TSHIRT_QUEUE_NAME", cls.name)),
            workers=source.number("TSHIRT_RENDER_WORKERS", cls.workers, int, 0),
            render_timeout_s=source.number("TSHIRT_RENDER_TIMEOUT_S", cls.render_timeout_s,
                                           float, 0.1),
            max_attempts=source.number("TSHIRT_MAX_ATTEMPTS", cls.max_attempts, int, 1),
            retry_delay_s=source.number("TSHIRT_RETRY_DELAY_S", cls.retry_delay_s, float, 0),
            heartbeat_s=heartbeat_s,
            # Three missed beats, so that one slow write (a locked database) is not a death.
            stall_after_s=source.number("TSHIRT_STALL_AFTER_S", cls.stall_after_s, float,
                                        3 * heartbeat_s),
            stall_check_s=source.number("TSHIRT_STALL_CHECK_S", cls.stall_check_s, float, 0.1),
            cleanup_crontab=crontab,
            blender_bin=source.text("TSHIRT_BLENDER_BIN"),
            blender_python=source.text("TSHIRT_BLENDER_PYTHON"),
            render_overrides=source.json_object("TSHIRT_RENDER_OVERRIDES"),
            service_url=url.rstrip("/") if url else None,
            service_token=source.text("TSHIRT_SERVICE_TOKEN",
                                      api_tokens[0] if api_tokens else None),
            worker_name=source.text("TSHIRT_WORKER_NAME",
                                    f"{socket.gethostname()}:{os.getpid()}") or "",
            consumer_name=source.text("TSHIRT_CONSUMER_NAME"),
            upload_retry_delay_s=source.number("TSHIRT_UPLOAD_RETRY_DELAY_S",
                                               cls.upload_retry_delay_s, float, 0.01),
            upload_max_delay_s=source.number("TSHIRT_UPLOAD_MAX_DELAY_S",
                                             cls.upload_max_delay_s, float, 0.01),
            upload_retry_for_s=source.number("TSHIRT_UPLOAD_RETRY_FOR_S",
                                             cls.upload_retry_for_s, float, 0),
        )

    def retry_delay(self, attempts: int) -> float:
        """Back-off before the attempt that follows attempt number `attempts`."""
        return backoff_delay(attempts, self.retry_delay_s)

    def outage_delay(self, tries: int) -> float:
        """Back-off after `tries` failed tries to reach the service, the database or the
        broker."""
        return backoff_delay(tries, self.upload_retry_delay_s, self.upload_max_delay_s)

    def check_remote(self) -> None:
        if self.remote and not self.service_token:
            raise ConfigError("A remote worker (TSHIRT_SERVICE_URL) needs the service's token "
                              "in TSHIRT_SERVICE_TOKEN.")


@dataclass(frozen=True)
class MediaSettings:
    medusa_url: str | None = None
    api_key: str | None = None
    email: str | None = None
    password: str | None = None
    replace: bool = True
    timeout_s: float = 30.0
    retry_delay_s: float = 30.0
    max_delay_s: float = 900.0
    retry_for_s: float = 7200.0

    @property
    def configured(self) -> bool:
        return bool(self.medusa_url)

    @classmethod
    def _read(cls, source: _Source) -> MediaSettings:
        mode = str(source.get("TSHIRT_MEDIA_REPLACE", "replace")).strip().lower()
        if mode not in REPLACE_MODES:
            raise ConfigError(f"TSHIRT_MEDIA_REPLACE must be replace or keep, not {mode!r}.")
        url = source.text("MEDUSA_URL")
        settings = cls(
            medusa_url=url.rstrip("/") if url else None,
            api_key=source.text("MEDUSA_API_KEY"),
            email=source.text("MEDUSA_EMAIL"),
            password=source.text("MEDUSA_PASSWORD"),
            replace=mode == "replace",
            timeout_s=source.number("TSHIRT_MEDIA_TIMEOUT_S", cls.timeout_s, float, 0.1),
            retry_delay_s=source.number("TSHIRT_PUSH_RETRY_DELAY_S", cls.retry_delay_s, float,
                                        0),
            max_delay_s=source.number("TSHIRT_PUSH_MAX_DELAY_S", cls.max_delay_s, float, 0),
            retry_for_s=source.number("TSHIRT_PUSH_RETRY_FOR_S", cls.retry_for_s, float, 0),
        )
        settings.check()
        return settings

    def check(self) -> None:
        if not self.configured:
            return
        if not self.api_key and not (self.email and self.password):
            raise ConfigError("MEDUSA_URL is set but no credentials: set MEDUSA_API_KEY (a "
                              "secret key) or MEDUSA_EMAIL and MEDUSA_PASSWORD.")
        if not str(self.medusa_url).startswith(("http://", "https://")):
            raise ConfigError(f"MEDUSA_URL must start with http:// or https://, not "
                              f"{self.medusa_url!r}.")

    def delay_for(self, attempt: int) -> float:
        """Back-off before the retry that follows attempt number `attempt` (1-based)."""
        return backoff_delay(attempt, self.retry_delay_s, self.max_delay_s)


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    api_tokens: tuple[str, ...]
    dev_mode: bool
    db_pool_size: int = 10
    queue: QueueSettings = field(default_factory=QueueSettings)
    media: MediaSettings = field(default_factory=MediaSettings)

    @classmethod
    def load(cls, overrides: Mapping[str, Any] | None = None,
             environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from `environ` (default: the process environment), then `overrides`."""
        source = _Source(overrides, environ)
        data_dir = Path(str(source.get("TSHIRT_DATA_DIR", "data"))).expanduser().resolve()
        api_tokens = source.tokens("TSHIRT_API_TOKENS")
        return cls(
            data_dir=data_dir,
            database_url=source.text("DATABASE_URL") or sqlite_url(data_dir),
            api_tokens=api_tokens,
            dev_mode=source.flag("TSHIRT_DEV_MODE"),
            db_pool_size=source.number("TSHIRT_DB_POOL_SIZE", 10, int, 1),
            queue=QueueSettings._read(source, api_tokens),
            media=MediaSettings._read(source),
        )

    def check(self) -> None:
        """Refuse to run without a token unless development mode was asked for explicitly."""
        if not self.api_tokens and not self.dev_mode:
            raise ConfigError(
                "No API token configured: set TSHIRT_API_TOKENS (make one with "
                "`tshirt-service create-token`), or set TSHIRT_DEV_MODE=1 to run without "
                "authentication on a development machine."
            )
        self.queue.check_remote()
