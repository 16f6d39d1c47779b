"""Job ids: `rjob_` plus a ULID, so ids sort by creation time and never collide across machines."""

from __future__ import annotations

import os
import re
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
JOB_PREFIX = "rjob_"
JOB_ID_RE = re.compile(r"rjob_[0-9A-HJKMNP-TV-Z]{26}")


def new_ulid(now_ms: int | None = None) -> str:
    """A ULID: 48 bits of milliseconds then 80 random bits, in Crockford base32 (26 chars)."""
    ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_job_id() -> str:
    return JOB_PREFIX + new_ulid()


def is_job_id(value: str) -> bool:
    return bool(JOB_ID_RE.fullmatch(value))
