"""Configuration of the render queue and its workers, from the environment (overridable by the
mapping given to `create_app`, as the rest of the service's settings are).

- `REDIS_URL` (unset): use `RedisHuey` on this server, for many machines; unset: `SqliteHuey`
  in the data directory.
- `TSHIRT_QUEUE_NAME` (`tshirt`): prefix of the Huey queue names.
- `TSHIRT_RENDER_WORKERS` (`1`): render threads embedded in `serve` (`0`: serve only), and
  the default of `worker`.
- `TSHIRT_RENDER_TIMEOUT_S` (`600`): time limit of one Blender run; the process group is killed.
- `TSHIRT_MAX_ATTEMPTS` (`3`): attempts for crashes, time-outs and lost workers (bad input: one).
- `TSHIRT_RETRY_DELAY_S` (`30`): back-off before attempt n+1 is this x 2^(n-1).
- `TSHIRT_HEARTBEAT_S` (`1`): a running job's progress and heartbeat are written at most this
  often.
- `TSHIRT_STALL_AFTER_S` (`120`): a running job with an older heartbeat is requeued (or failed
  after the attempt limit); `TSHIRT_STALL_CHECK_S` (`30`): how often every queue process looks.
- `TSHIRT_CLEANUP_CRONTAB` (`0 2 * * *`, UTC): when the scheduled cleanup runs.
- `TSHIRT_BLENDER_BIN` (unset): a Blender binary; unset: `TSHIRT_BLENDER_PYTHON` (default: this
  Python), a Python with the `bpy` module, runs `-m blender_addon.cli`.
- `TSHIRT_RENDER_OVERRIDES` (unset): JSON applied to every render (resolution, samples, frames,
  fps, animation_format, turntable_method), for tests and benchmarks.
- `TSHIRT_SERVICE_URL` (unset): remote worker: fetch designs from and upload outputs to this
  service, sending `TSHIRT_SERVICE_TOKEN` (default: the first of `TSHIRT_API_TOKENS`).
- `TSHIRT_WORKER_NAME` (host:pid): how this process appears in a job's `worker_id`.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..config import ConfigError

DEFAULTS: dict[str, Any] = {
    "REDIS_URL": None,
    "TSHIRT_QUEUE_NAME": "tshirt",
    "TSHIRT_RENDER_WORKERS": 1,
    "TSHIRT_RENDER_TIMEOUT_S": 600.0,
    "TSHIRT_MAX_ATTEMPTS": 3,
    "TSHIRT_RETRY_DELAY_S": 30.0,
    "TSHIRT_HEARTBEAT_S": 1.0,
    "TSHIRT_STALL_AFTER_S": 120.0,
    "TSHIRT_STALL_CHECK_S": 30.0,
    "TSHIRT_CLEANUP_CRONTAB": "0 2 * * *",
    "TSHIRT_BLENDER_BIN": None,
    "TSHIRT_BLENDER_PYTHON": None,
    "TSHIRT_RENDER_OVERRIDES": None,
    "TSHIRT_SERVICE_URL": None,
    "TSHIRT_SERVICE_TOKEN": None,
    "TSHIRT_API_TOKENS": None,
    "TSHIRT_WORKER_NAME": None,
}


def _number(name: str, value: Any, kind: type, low: float) -> Any:
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, not {value!r}.") from None
    if number < low:
        raise ConfigError(f"{name} must be at least {low}, not {number}.")
    return number


def parse_crontab(text: str) -> dict[str, str]:
    parts = str(text).split()
    if len(parts) != 5:
        raise ConfigError(f"TSHIRT_CLEANUP_CRONTAB must have five fields "
                          f"(minute hour day month weekday), not {text!r}.")
    return dict(zip(("minute", "hour", "day", "month", "day_of_week"), parts, strict=True))


@dataclass(frozen=True)
class QueueSettings:
    redis_url: str | None = None
    name: str = "tshirt"
    workers: int = 1
    render_timeout_s: float = 600.0
    max_attempts: int = 3
    retry_delay_s: float = 30.0
    heartbeat_s: float = 1.0
    stall_after_s: float = 120.0
    stall_check_s: float = 30.0
    cleanup_crontab: str = "0 2 * * *"
    blender_bin: str | None = None
    blender_python: str | None = None
    render_overrides: dict[str, Any] = field(default_factory=dict)
    service_url: str | None = None
    service_token: str | None = None
    worker_name: str = ""

    @property
    def remote(self) -> bool:
        """Whether this process moves files over HTTP instead of sharing the data directory."""
        return bool(self.service_url)

    @classmethod
    def load(cls, overrides: Mapping[str, Any] | None = None,
             environ: Mapping[str, str] | None = None) -> QueueSettings:
        env = os.environ if environ is None else environ
        values = {key: env.get(key) or default for key, default in DEFAULTS.items()}
        values.update({k: v for k, v in (overrides or {}).items() if k in DEFAULTS})
        overrides_value = values["TSHIRT_RENDER_OVERRIDES"] or {}
        if isinstance(overrides_value, str):
            try:
                overrides_value = json.loads(overrides_value)
            except json.JSONDecodeError:
                raise ConfigError("TSHIRT_RENDER_OVERRIDES must be a JSON object.") from None
        if not isinstance(overrides_value, dict):
            raise ConfigError("TSHIRT_RENDER_OVERRIDES must be a JSON object.")
        tokens = values["TSHIRT_API_TOKENS"]
        if isinstance(tokens, str):
            tokens = [t.strip() for t in tokens.split(",") if t.strip()]
        token = values["TSHIRT_SERVICE_TOKEN"] or (tokens[0] if tokens else None)
        crontab = str(values["TSHIRT_CLEANUP_CRONTAB"])
        parse_crontab(crontab)
        url = values["TSHIRT_SERVICE_URL"]
        return cls(
            redis_url=values["REDIS_URL"] or None,
            name=str(values["TSHIRT_QUEUE_NAME"]),
            workers=_number("TSHIRT_RENDER_WORKERS", values["TSHIRT_RENDER_WORKERS"], int, 0),
            render_timeout_s=_number("TSHIRT_RENDER_TIMEOUT_S",
                                     values["TSHIRT_RENDER_TIMEOUT_S"], float, 0.1),
            max_attempts=_number("TSHIRT_MAX_ATTEMPTS", values["TSHIRT_MAX_ATTEMPTS"], int, 1),
            retry_delay_s=_number("TSHIRT_RETRY_DELAY_S", values["TSHIRT_RETRY_DELAY_S"],
                                  float, 0),
            heartbeat_s=_number("TSHIRT_HEARTBEAT_S", values["TSHIRT_HEARTBEAT_S"], float,
                                0.05),
            stall_after_s=_number("TSHIRT_STALL_AFTER_S", values["TSHIRT_STALL_AFTER_S"],
                                  float, 0.5),
            stall_check_s=_number("TSHIRT_STALL_CHECK_S", values["TSHIRT_STALL_CHECK_S"],
                                  float, 0.1),
            cleanup_crontab=crontab,
            blender_bin=values["TSHIRT_BLENDER_BIN"] or None,
            blender_python=values["TSHIRT_BLENDER_PYTHON"] or None,
            render_overrides=dict(overrides_value),
            service_url=str(url).rstrip("/") if url else None,
            service_token=token,
            worker_name=values["TSHIRT_WORKER_NAME"] or f"{socket.gethostname()}:{os.getpid()}",
        )

    def check_remote(self) -> None:
        if self.remote and not self.service_token:
            raise ConfigError("A remote worker (TSHIRT_SERVICE_URL) needs the service's token "
                              "in TSHIRT_SERVICE_TOKEN.")
