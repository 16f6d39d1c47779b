"""Configuration from the environment, overridable by a mapping passed to `create_app`.

- `TSHIRT_DATA_DIR`: database, designs and outputs (default `./data`, relative to the CWD).
- `DATABASE_URL`: a SQLAlchemy URL, e.g. `postgresql+psycopg://user@host/db` (default: a
  SQLite file in the data directory).
- `TSHIRT_API_TOKENS`: comma-separated bearer tokens accepted on `/admin` (default: none).
- `TSHIRT_DEV_MODE`: `1` lets the service start without a token, admin routes open.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.errors import TshirtError
from shared.validation import MAX_DESIGN_BYTES

SQLITE_NAME = "tshirt.db"
# Room for the multipart framing and the form fields beside a design at the size limit; the
# design itself is checked against MAX_DESIGN_BYTES separately.
MAX_REQUEST_BYTES = MAX_DESIGN_BYTES + 256 * 1024
# A manifest upload carries six stills and a turntable video (or frames).
MAX_OUTPUTS_REQUEST_BYTES = 1024 * 1024 * 1024
# A manifest sent as a form field (a turntable rendered as PNG frames lists each frame).
MAX_MANIFEST_BYTES = 8 * 1024 * 1024

_TRUE = {"1", "true", "yes", "on"}


class ConfigError(TshirtError):
    """The service is configured in a way it must not start with."""

    default_code = "config_error"


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in _TRUE


def _tokens(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    return tuple(t.strip() for t in items if t and t.strip())


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / SQLITE_NAME).resolve()}"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    api_tokens: tuple[str, ...]
    dev_mode: bool

    @classmethod
    def load(cls, overrides: Mapping[str, Any] | None = None,
             environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from `environ` (default: the process environment), then `overrides`."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {
            "TSHIRT_DATA_DIR": env.get("TSHIRT_DATA_DIR") or "data",
            "DATABASE_URL": env.get("DATABASE_URL") or None,
            "TSHIRT_API_TOKENS": env.get("TSHIRT_API_TOKENS"),
            "TSHIRT_DEV_MODE": env.get("TSHIRT_DEV_MODE"),
        }
        values.update({k: v for k, v in (overrides or {}).items() if k in values})
        data_dir = Path(values["TSHIRT_DATA_DIR"]).expanduser().resolve()
        return cls(
            data_dir=data_dir,
            database_url=values["DATABASE_URL"] or sqlite_url(data_dir),
            api_tokens=_tokens(values["TSHIRT_API_TOKENS"]),
            dev_mode=_flag(values["TSHIRT_DEV_MODE"]),
        )

    def check(self) -> None:
        """Refuse to run without a token unless development mode was asked for explicitly."""
        if not self.api_tokens and not self.dev_mode:
            raise ConfigError(
                "No API token configured: set TSHIRT_API_TOKENS (make one with "
                "`tshirt-service create-token`), or set TSHIRT_DEV_MODE=1 to run without "
                "authentication on a development machine."
            )
