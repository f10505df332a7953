"""Retries for API calls: exponential backoff with full jitter, honouring ``Retry-After``.

Each API resource classifies its own errors into :class:`Retryable` (429, 5xx, connection
errors) or anything else (raised at once); this module only decides how long to wait and when
to give up.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Retryable(Exception):
    """A transient failure worth another attempt; ``retry_after`` in seconds when the server said so."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class RetriesExhausted(RuntimeError):
    """The call kept failing with transient errors until the attempt limit."""


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(cap, base · 2^attempt)]."""
    return rng.uniform(0, min(cap, base * (2 ** attempt)))


def call_with_retries(
    call: Callable[[], T],
    classify: Callable[[Exception], Exception],
    *,
    what: str,
    max_attempts: int,
    base_delay: float,
    max_delay: float = 60.0,
    log: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> T:
    """Run ``call``; on a failure that ``classify`` maps to :class:`Retryable`, wait and try again.

    ``classify`` returns the exception to raise (non-retryable errors are raised immediately,
    after translation into a clear message). After ``max_attempts`` transient failures a
    :class:`RetriesExhausted` names ``what`` and the last error.
    """
    rng = rng or random.Random()
    for attempt in range(max_attempts):
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - classify decides
            error = classify(exc)
            if not isinstance(error, Retryable):
                raise error from exc
            if attempt == max_attempts - 1:
                raise RetriesExhausted(
                    f"{what}: still failing after {max_attempts} attempts: {error}"
                ) from exc
            delay = error.retry_after if error.retry_after is not None else backoff_delay(
                attempt, base_delay, max_delay, rng)
            delay = min(delay, max_delay)
            if log:
                log(f"{what}: {error}; retry {attempt + 1}/{max_attempts - 1} in {delay:.1f}s")
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
