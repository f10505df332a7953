"""Alerts: a run that failed, or a run that succeeded with failed ERROR-severity checks.

Each alert is logged by the sensor (visible in the sensor's tick log in the Dagster UI and in the
daemon's output) and, when ``PMKPI_ALERT_WEBHOOK_URL`` is set, POSTed there as JSON. The body's
``text`` field is a one-line summary (what Slack, Mattermost and Teams incoming webhooks show);
the other fields carry the run id, job, partition range, failed steps and failed checks, and for a
failed run the days per asset it left unmaterialised (``failed_days``), which the sensor also marks
failed in the assets' partitions (:mod:`.failed_days`).
A webhook that does not answer 2xx after three attempts fails the sensor tick, so the tick
shows the error in the UI (the alert itself is still in the tick log). The attempts and waits
(1s, then 2s) are tenacity's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import NoReturn

import requests
from dagster import (
    AssetCheckSeverity,
    DagsterEventType,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunFailureSensorContext,
    RunStatusSensorContext,
    run_failure_sensor,
    run_status_sensor,
)
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    retry_if_result,
    stop_after_attempt,
    wait_exponential,
)

from ...lib.settings import load_settings, mask_url
from .failed_days import day_ranges, describe, mark_failed_days
from .schedules import RANGE_END_TAG, RANGE_START_TAG

WEBHOOK_ATTEMPTS = 3
WEBHOOK_TIMEOUT_SECONDS = 10


def partition_range(tags) -> str | None:
    """``start..end`` of a range run, the single partition of a one-partition run, else None."""
    if RANGE_START_TAG in tags:
        return f"{tags[RANGE_START_TAG]}..{tags.get(RANGE_END_TAG, tags[RANGE_START_TAG])}"
    return tags.get("dagster/partition")


def failed_error_checks(instance, run_id: str) -> list[dict]:
    """The ERROR-severity check evaluations of a run that did not pass."""
    records = instance.get_records_for_run(run_id=run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)
    failed = []
    for record in records.records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        if not evaluation.passed and evaluation.severity == AssetCheckSeverity.ERROR:
            failed.append({"asset": evaluation.asset_key.to_user_string(), "check": evaluation.check_name,
                           "description": evaluation.description or ""})
    return failed


def root_cause(error) -> str:
    """The pipeline's own error of a step failure (Dagster wraps it as the cause of its own), trimmed."""
    if error is None:
        return ""
    while (error.cls_name or "").startswith("Dagster") and error.cause is not None:
        error = error.cause
    return error.message.strip()[:500]  # "ExceptionClass: message", as Python prints it


def alert_payload(event: str, run, summary: str, failed_steps=(), failed_checks=(), failed_days=None) -> dict:
    """The JSON body of an alert (``failed_days``: per asset, the day ranges a failed run left unmaterialised)."""
    where = partition_range(run.tags)
    text = f"pmkpi {event.replace('_', ' ')}: run {run.run_id[:8]} of {run.job_name}" + (
        f" ({where})" if where else "") + f": {summary}"
    return {
        "text": text,
        "event": event,
        "run_id": run.run_id,
        "job_name": run.job_name,
        "partition_range": where,
        "failed_steps": list(failed_steps),
        "failed_checks": list(failed_checks),
        "failed_days": failed_days or {},
        "ui_path": f"/runs/{run.run_id}",
    }


def post_alert(payload: dict, log, url: str | None = None,
               post: Callable[..., requests.Response] = requests.post, sleep=time.sleep) -> bool:
    """Log the alert; POST it to the webhook when one is configured. True when it was posted."""
    log.error(payload["text"])
    url = url if url is not None else load_settings().alert_webhook_url
    if not url:
        log.info("PMKPI_ALERT_WEBHOOK_URL is not set: the alert is only logged")
        return False

    def give_up(state: RetryCallState) -> NoReturn:
        raise RuntimeError(f"alert webhook PMKPI_ALERT_WEBHOOK_URL ({mask_url(url)}) failed {WEBHOOK_ATTEMPTS} "
                           f"times, last: {_problem(state.outcome)}")

    Retrying(
        retry=retry_if_exception_type(requests.RequestException) | retry_if_result(_not_accepted),
        stop=stop_after_attempt(WEBHOOK_ATTEMPTS),
        wait=wait_exponential(multiplier=1),  # 1s, then 2s
        sleep=sleep,
        retry_error_callback=give_up,
    )(post, url, json=payload, timeout=WEBHOOK_TIMEOUT_SECONDS)
    return True


def _not_accepted(response: requests.Response) -> bool:
    """The webhook answered, but not 2xx."""
    return not 200 <= response.status_code < 300


def _problem(outcome: Future) -> str:
    """What went wrong with the last webhook attempt: the request error, or the HTTP status and body."""
    if outcome.failed:
        error = outcome.exception()
        return f"{type(error).__name__}: {error}"
    response = outcome.result()
    return f"HTTP {response.status_code}: {response.text[:200]}"


@run_failure_sensor(name="alert_on_run_failure", default_status=DefaultSensorStatus.RUNNING,
                    minimum_interval_seconds=30,
                    description="Logs every failed run of this code location and POSTs it to "
                    "PMKPI_ALERT_WEBHOOK_URL when set.")
def alert_on_run_failure(context: RunFailureSensorContext):
    run = context.dagster_run
    steps = []
    for event in context.get_step_failure_events():
        error = event.event_specific_data.error if event.event_specific_data else None
        steps.append({"step": event.step_key, "error": root_cause(error)})
    summary = context.failure_event.message or "run failed"
    if steps:
        summary = f"step {steps[0]['step']} failed: {steps[0]['error'].splitlines()[0] if steps[0]['error'] else '?'}"
    marked = mark_failed_days(context.instance, run.run_id)  # each day then shows failed in the asset's partitions
    if marked:
        summary += f"; not materialised: {describe(marked)}"
    post_alert(alert_payload("run_failure", run, summary, steps, failed_error_checks(context.instance, run.run_id),
                             {asset: day_ranges(days) for asset, days in marked.items()}), context.log)


@run_status_sensor(name="alert_on_failed_checks", run_status=DagsterRunStatus.SUCCESS,
                   default_status=DefaultSensorStatus.RUNNING, minimum_interval_seconds=30,
                   description="After each successful run: alerts (log + PMKPI_ALERT_WEBHOOK_URL) when "
                   "ERROR-severity checks failed, e.g. a KPI out of its bounds.")
def alert_on_failed_checks(context: RunStatusSensorContext):
    run = context.dagster_run
    failed = failed_error_checks(context.instance, run.run_id)
    if not failed:
        return
    names = ", ".join(f"{f['asset']}.{f['check']}" for f in failed[:5])
    more = f" and {len(failed) - 5} more" if len(failed) > 5 else ""
    post_alert(alert_payload("check_failure", run, f"{len(failed)} ERROR check(s) failed: {names}{more}",
                             failed_checks=failed), context.log)

