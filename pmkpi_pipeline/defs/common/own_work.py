"""Our own work, measured inside the bodies: the seconds each asset and check body spends computing.

:func:`timed_body` wraps a body and, when it ends, logs one DEBUG line per step
(``pmkpi own_work_seconds=1.2345``) into the run's event log: no extra events per partition, no
extra metadata. For a body that yields (the checks), only the time inside the body counts, not the
time Dagster spends recording what it yielded. ``benchmarks/own_work.py`` sums these lines from a run
(:func:`own_seconds_in` parses one), so a benchmark measures our work directly instead of as
"backfill minus bookkeeping floor".
"""

from __future__ import annotations

import functools
import inspect
import re
import time
from collections.abc import Callable, Iterator

PREFIX = "pmkpi own_work_seconds="
_LINE = re.compile(re.escape(PREFIX) + r"([0-9.]+)")


def own_seconds_in(message: str) -> float | None:
    """The seconds an own-work log line records, or None for any other message."""
    found = _LINE.search(message)
    return float(found.group(1)) if found else None


def _record(context, seconds: float) -> None:
    context.log.debug(f"{PREFIX}{seconds:.4f}")


def _timed_generator(context, events: Iterator) -> Iterator:
    """``events`` re-yielded, with the time spent producing them (not consuming them) recorded at the end."""
    spent = 0.0
    try:
        while True:
            began = time.perf_counter()
            try:
                event = next(events)
            except StopIteration:
                return
            finally:
                spent += time.perf_counter() - began
            yield event
    finally:
        _record(context, spent)


def timed_body(body: Callable) -> Callable:
    """Decorate an asset or check body (context first) so its own seconds are logged once per step.

    Put it below ``@asset`` / ``@asset_check`` / ``@multi_asset_check``: Dagster still sees the body's
    signature (``functools.wraps``), so resources and inputs are resolved as before.
    """
    if inspect.isgeneratorfunction(body):
        @functools.wraps(body)
        def _generator(context, *args, **kwargs):
            return (yield from _timed_generator(context, body(context, *args, **kwargs)))

        return _generator

    @functools.wraps(body)
    def _function(context, *args, **kwargs):
        began = time.perf_counter()
        try:
            return body(context, *args, **kwargs)
        finally:
            _record(context, time.perf_counter() - began)

    return _function
