"""How API calls fail: errors that say where, and retries with backoff that honour ``Retry-After``.

Each API resource classifies its own errors into :class:`Retryable` (429, 5xx, connection
errors, timeouts) or a :class:`SourceError` (raised at once: bad credentials, a malformed
answer, an exhausted daily quota); this module decides how long to wait and when to give up.

The loop itself is tenacity's (``Retrying``: attempts, waits, the injected ``sleep``). What
remains here is what tenacity cannot know: which failures are transient (the resources'
classifiers), the server's ``Retry-After`` (parsed here, since tenacity reads no headers; it
replaces the full-jitter backoff, and one beyond the maximum wait fails at once rather than
being waited out), and the error types and messages that say what failed and where.

A :class:`SourceError` names the source, the endpoint, the partition range being pulled and,
when one is at fault, the field — so a failed step says what broke and where without a stack
trace. Messages never carry credentials: resources build them from their own words, status
codes and the API's error title, never from request headers or URLs with keys.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import NoReturn, TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_any,
    wait_random_exponential,
)

T = TypeVar("T")


class SourceError(RuntimeError):
    """A source call failed or answered something unusable.

    The message reads ``<source> <endpoint> for partitions <start..end>, field <field>: <detail>``
    (partitions and field when known); the parts are kept as attributes for callers and tests.
    """

    source = "source"

    def __init__(self, endpoint: str, detail: str, *, partitions: str | None = None,
                 field: str | None = None):
        self.endpoint = endpoint
        self.detail = detail
        self.partitions = partitions
        self.field = field
        where = f"{self.source} {endpoint}"
        if partitions:
            where += f" for partitions {partitions}"
        if field:
            where += f", field {field}"
        super().__init__(f"{where}: {detail}")

    def __reduce__(self):
        return (_rebuild, (type(self), self.endpoint, self.detail, self.partitions, self.field,
                           dict(self.__dict__)))


def _rebuild(cls, endpoint, detail, partitions, field, state):
    error = cls.__new__(cls)
    SourceError.__init__(error, endpoint, detail, partitions=partitions, field=field)
    error.__dict__.update(state)
    return error


class Retryable(Exception):
    """A transient failure worth another attempt; ``retry_after`` in seconds when the server said so."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class RetriesExhausted(RuntimeError):
    """The call kept failing with transient errors until the attempt limit (or asked for too long a wait)."""


def parse_retry_after(headers: Mapping[str, str] | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date); None when absent."""
    if not headers:
        return None
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


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
) -> T:
    """Run ``call``; on a failure that ``classify`` maps to :class:`Retryable`, wait and try again.

    ``classify`` returns the exception to raise (non-retryable errors are raised immediately,
    already carrying a clear message). The wait is the server's ``Retry-After`` when it sent
    one, else full-jitter exponential backoff capped at ``max_delay``. A ``Retry-After`` longer
    than ``max_delay`` is not waited out: the call fails at once saying how long the server
    asked for. After ``max_attempts`` transient failures a :class:`RetriesExhausted` names
    ``what`` and the last error.
    """
    if max_attempts < 1:
        raise ValueError(f"{what}: max_attempts must be at least 1, got {max_attempts}")

    def attempt() -> T:
        try:
            return call()
        except Exception as exc:
            raise classify(exc) from exc

    backoff = wait_random_exponential(multiplier=base_delay, max=max_delay)

    def wait(state: RetryCallState) -> float:
        asked = _error(state).retry_after
        return asked if asked is not None else backoff(state)

    def asks_too_long(state: RetryCallState) -> bool:
        asked = _error(state).retry_after
        return asked is not None and asked > max_delay

    def give_up(state: RetryCallState) -> NoReturn:
        error = _error(state)
        if state.attempt_number >= max_attempts:
            raise RetriesExhausted(
                f"{what}: still failing after {max_attempts} attempts; last error: {error}"
            ) from error.__cause__
        raise RetriesExhausted(
            f"{what}: {error}; the server asked to retry after {error.retry_after:.0f}s "
            f"(Retry-After), longer than the configured maximum wait of {max_delay:.0f}s — "
            "re-run later"
        ) from error.__cause__

    def announce(state: RetryCallState) -> None:
        error = _error(state)
        source = " (Retry-After)" if error.retry_after is not None else ""
        log(f"{what}: {error}; retry {state.attempt_number}/{max_attempts - 1} in "
            f"{state.next_action.sleep:.2f}s{source}")

    retrying = Retrying(
        retry=retry_if_exception_type(Retryable),
        stop=stop_any(stop_after_attempt(max_attempts), asks_too_long),
        wait=wait,
        before_sleep=announce if log else None,
        sleep=sleep,
        retry_error_callback=give_up,
    )
    return retrying(attempt)


def _error(state: RetryCallState) -> Retryable:
    """The classified transient error of the attempt that just failed."""
    return state.outcome.exception()
