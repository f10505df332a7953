"""The daily run after a given history: what ``daily_refresh`` runs each morning, timed.

    PMKPI_START_DATE=HISTORY_START python benchmarks/daily_run.py YESTERDAY

first lands the history HISTORY_START..YESTERDAY as one run of every asset without checks (the checks
are not what is measured, and would cost Dagster one evaluation per check per day), then evaluates the
``daily_refresh`` schedule at 06:00 the day after YESTERDAY and runs its run requests (yesterday and the
GA4 lookback for everything, the older Mailchimp lookback for Mailchimp and what it feeds), with their
checks, as the daemon would. Prints JSON: ``history_seconds``, ``daily_run_seconds`` (the requests'
wall time together), ``daily_compute_seconds`` (inside the bodies, ``timed_run.timing_compute``) and the
ranges. The instance is ``DAGSTER_HOME``'s (in memory when unset), with pmkpi's floor settings as defaults.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import defaultdict
from datetime import date, datetime, timedelta
from datetime import time as clock
from zoneinfo import ZoneInfo

from timed_run import timing_compute


def run_daily(yesterday: date) -> dict:
    """Land the history up to ``yesterday``, then run and time the next morning's ``daily_refresh`` requests."""
    from dagster import AssetSelection, DagsterInstance, Definitions, build_schedule_context, define_asset_job

    from pmkpi_pipeline.definitions import defs as load_defs
    from pmkpi_pipeline.defs.operations.schedules import RANGE_END_TAG, RANGE_START_TAG, daily_refresh
    from pmkpi_pipeline.lib.dagster_env import is_postgres_instance, set_floor_defaults
    from pmkpi_pipeline.lib.settings import load_settings

    settings = load_settings()
    history = define_asset_job("history", selection=AssetSelection.all(include_sources=False).without_checks())
    defs = Definitions.merge(load_defs(), Definitions(jobs=[history]))
    instance = DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else DagsterInstance.ephemeral()
    set_floor_defaults(postgres=is_postgres_instance(instance))
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    figures: dict = {"history": f"{settings.start_date}..{yesterday}"}
    began = time.monotonic()
    result = defs.resolve_job_def("history").execute_in_process(
        instance=instance, run_config=quiet,
        tags={RANGE_START_TAG: settings.start_date.isoformat(), RANGE_END_TAG: yesterday.isoformat()})
    if not result.success:
        raise SystemExit("the history run failed")
    figures["history_seconds"] = round(time.monotonic() - began, 2)
    morning = datetime.combine(yesterday + timedelta(days=1), clock(6), ZoneInfo(settings.timezone))
    requests = daily_refresh(build_schedule_context(scheduled_execution_time=morning))
    job = defs.resolve_job_def("pmkpi_all")
    by_step: dict[str, float] = defaultdict(float)
    timing_compute(by_step)
    began = time.monotonic()
    for request in requests:
        result = job.execute_in_process(instance=instance, run_config=quiet, tags=request.tags,
                                        asset_selection=request.asset_selection)
        if not result.success:
            raise SystemExit(f"the daily run {request.run_key} failed")
    figures["daily_run_seconds"] = round(time.monotonic() - began, 2)
    figures["daily_compute_seconds"] = round(sum(by_step.values()), 2)
    figures["daily_runs"] = [f"{r.tags[RANGE_START_TAG]}..{r.tags[RANGE_END_TAG]}"
                             + (" (Mailchimp chain)" if r.asset_selection else "") for r in requests]
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("yesterday", help="the last complete day, YYYY-MM-DD")
    print(json.dumps(run_daily(date.fromisoformat(parser.parse_args().yesterday))))
