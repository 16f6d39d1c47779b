"""The one retry back-off formula: the render queue (attempts of a job) and the store push
(attempts of a push) wait base x 2^(n-1) after attempt n, optionally capped."""

from __future__ import annotations


def backoff_delay(attempt: int, base_s: float, max_s: float | None = None) -> float:
    """Seconds to wait before the retry that follows attempt number `attempt` (1-based):
    `base_s`, then twice that, four times... at most `max_s` when given."""
    # The exponent is clamped so that a long-running retry loop never overflows a float.
    delay = base_s * 2 ** min(max(0, attempt - 1), 60)
    return delay if max_s is None else min(max_s, delay)
