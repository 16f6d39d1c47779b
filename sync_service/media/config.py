"""Configuration of the store push, from the environment (overridable by the mapping given to
`create_app`, like the rest of the service's settings).

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

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..config import ConfigError

REPLACE_MODES = ("replace", "keep")
DEFAULTS: dict[str, Any] = {
    "MEDUSA_URL": None,
    "MEDUSA_API_KEY": None,
    "MEDUSA_EMAIL": None,
    "MEDUSA_PASSWORD": None,
    "TSHIRT_MEDIA_REPLACE": "replace",
    "TSHIRT_MEDIA_TIMEOUT_S": 30.0,
    "TSHIRT_PUSH_RETRY_DELAY_S": 30.0,
    "TSHIRT_PUSH_MAX_DELAY_S": 900.0,
    "TSHIRT_PUSH_RETRY_FOR_S": 7200.0,
}


def _number(name: str, value: Any, low: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, not {value!r}.") from None
    if number < low:
        raise ConfigError(f"{name} must be at least {low}, not {number}.")
    return number


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
    def load(cls, overrides: Mapping[str, Any] | None = None,
             environ: Mapping[str, str] | None = None) -> MediaSettings:
        env = os.environ if environ is None else environ
        values = {key: env.get(key) or default for key, default in DEFAULTS.items()}
        values.update({k: v for k, v in (overrides or {}).items() if k in DEFAULTS})
        mode = str(values["TSHIRT_MEDIA_REPLACE"]).strip().lower()
        if mode not in REPLACE_MODES:
            raise ConfigError(f"TSHIRT_MEDIA_REPLACE must be replace or keep, not {mode!r}.")
        url = values["MEDUSA_URL"]
        settings = cls(
            medusa_url=str(url).rstrip("/") if url else None,
            api_key=values["MEDUSA_API_KEY"] or None,
            email=values["MEDUSA_EMAIL"] or None,
            password=values["MEDUSA_PASSWORD"] or None,
            replace=mode == "replace",
            timeout_s=_number("TSHIRT_MEDIA_TIMEOUT_S", values["TSHIRT_MEDIA_TIMEOUT_S"], 0.1),
            retry_delay_s=_number("TSHIRT_PUSH_RETRY_DELAY_S",
                                  values["TSHIRT_PUSH_RETRY_DELAY_S"], 0),
            max_delay_s=_number("TSHIRT_PUSH_MAX_DELAY_S", values["TSHIRT_PUSH_MAX_DELAY_S"], 0),
            retry_for_s=_number("TSHIRT_PUSH_RETRY_FOR_S", values["TSHIRT_PUSH_RETRY_FOR_S"], 0),
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
        return min(self.max_delay_s, self.retry_delay_s * 2 ** max(0, attempt - 1))
