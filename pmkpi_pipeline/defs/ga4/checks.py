"""Checks on ``raw_ga4``, one verdict per day: rows on every day, and GA4's data quality and time zone.

- ``rows_every_day``: a day no pull covered is an ERROR that blocks staging (the refresh missed it); a
  day GA4 had no rows for is a WARN that says why (``stg_ga4_days``: no traffic, a tracking outage, or
  before the property collected data) and does not block the rest of the range.
- ``ga4_data_quality``: the property's time zone differing from ``PMKPI_TIMEZONE`` (as a zone: other UTC
  offsets on some hour of the range; ``Etc/UTC`` is ``UTC``, :mod:`...lib.time_zones`) is an ERROR that
  names both zones and blocks staging (GA4's ``date`` is a day in the property's zone, so every day
  would be shifted); thresholding, rows folded into ``(other)`` (dated ones, and rows dated
  ``(other)``), rows withheld from a breakdown (the channels' sessions or the pages' views short of the
  property's totals) and sampling are WARNs: the numbers landed, read them with care.
"""

from collections.abc import Iterable

from dagster import AssetCheckExecutionContext, AssetCheckSeverity, AssetKey, MetadataValue, asset_check

from ...lib.settings import RunSettings
from ...lib.time_zones import same_zone
from ...lib.warehouse import WarehouseResource, daily_row_counts, ensure_table
from ..common.metadata import row_count_metadata
from ..common.own_work import timed_body
from ..common.partitions import DAILY, days, partition_dates
from ..common.per_day import DayVerdict, check_outputs, daily_evaluations, latest_materializations
from ..common.staging import staging_views
from .tables import GA4_DAYS, GA4_EVENTS, GA4_OTHER_DATES, GA4_PAGES, GA4_TOTALS, GA4_TRAFFIC

DAILY_TABLES = (GA4_TRAFFIC, GA4_PAGES, GA4_EVENTS, GA4_TOTALS)
OTHER_KEYS = {GA4_TRAFFIC.name: "channel", GA4_PAGES.name: "page_path", GA4_EVENTS.name: "event_name"}


def _evaluate(context, check: str, verdicts: list[tuple[DayVerdict, AssetCheckSeverity]]):
    """Each day's evaluation with its own severity; a failed ERROR blocks what is downstream."""
    key = AssetKey("raw_ga4")
    targets = latest_materializations(context.instance, key, [v.day.isoformat() for v, _ in verdicts])
    for severity in (AssetCheckSeverity.ERROR, AssetCheckSeverity.WARN):
        yield from daily_evaluations(context, key, check, [v for v, s in verdicts if s == severity], severity,
                                     blocking=True, targets=targets)


def _day_status(con, timezone: str, start, end) -> dict:
    """``stg_ga4_days`` of the range (the view's SQL, so the check runs before staging): day → row."""
    ensure_table(con, GA4_DAYS)
    sql = staging_views("ga4", timezone, "USD")["stg_ga4_days"]
    found = con.execute(f"SELECT date, status, reason, property_time_zone FROM ({sql}) WHERE date BETWEEN ? AND ?",
                        [start, end]).fetchall()
    return {day: (status, reason, zone) for day, status, reason, zone in found}


@asset_check(asset="raw_ga4", name="rows_every_day", partitions_def=DAILY, blocking=True,
             description="Every day of the range was pulled from GA4 (ERROR, blocks staging) and has rows in "
             + ", ".join(t.name for t in DAILY_TABLES) + " (WARN, saying whether the day had no traffic, a "
             "tracking outage or came before the property collected data).")
@timed_body
def ga4_rows_every_day(context: AssetCheckExecutionContext, warehouse: WarehouseResource, settings: RunSettings):
    """Per day: ERROR when no pull covered it, WARN when GA4 had no rows for it (with why)."""
    start, end = partition_dates(context)
    with warehouse.connect() as con:
        counts = daily_row_counts(con, {t.name: t.partition_column for t in DAILY_TABLES}, start, end)
        status = _day_status(con, settings.timezone, start, end)
    verdicts = []
    for day, by_table in counts.items():
        empty = [name for name, rows in by_table.items() if not rows]
        pulled = day in status or len(empty) < len(by_table)
        metadata = {**row_count_metadata(by_table),
                    "empty_days": MetadataValue.json({name: [str(day)] for name in empty})}
        if not pulled:
            verdict = DayVerdict(day, False, f"GA4 was never pulled for {day}: no raw_ga4 run covered it", metadata)
            verdicts.append((verdict, AssetCheckSeverity.ERROR))
            continue
        kind, reason, _ = status.get(day, ("data", None, None))
        if kind == "no_traffic":
            text = f"GA4 had no rows for {day}: no traffic that day (counts are 0)"
        else:
            text = reason or (f"no rows in {', '.join(empty)} on {day}" if empty else f"rows on {day}")
        verdicts.append((DayVerdict(day, not empty, text, {**metadata, "day_status": MetadataValue.text(kind)}),
                         AssetCheckSeverity.WARN))
    gaps = [v.day for v, _ in verdicts if not v.passed]
    context.log.info(f"raw_ga4 rows_every_day {start}..{end}: "
                     + (f"{len(gaps)} day(s) without rows, first {gaps[0]}" if gaps else "rows on every day"))
    yield from _evaluate(context, "rows_every_day", verdicts)
    yield from check_outputs(context)


@asset_check(asset="raw_ga4", name="ga4_data_quality", partitions_def=DAILY, blocking=True,
             description="The GA4 property's time zone is PMKPI_TIMEZONE (ERROR, blocks staging: GA4 dates are "
             "days in the property's zone); no thresholding, no rows folded into '(other)' or dated '(other)', "
             "no rows withheld from the breakdowns, no sampling (WARN).")
@timed_body
def ga4_data_quality(context: AssetCheckExecutionContext, warehouse: WarehouseResource, settings: RunSettings):
    """Per day: ERROR when GA4's time zone differs, WARN when GA4 flagged or withheld rows."""
    start, end = partition_dates(context)
    problems: dict = {day: [] for day in days(start, end)}
    zones: dict = {day: set() for day in problems}
    with warehouse.connect() as con:
        for day, (_, _, zone) in _day_status(con, settings.timezone, start, end).items():
            zones[day].add(zone)
        for table in DAILY_TABLES:
            other = f"count(*) FILTER (WHERE {OTHER_KEYS[table.name]} = '(other)')" if table.name in OTHER_KEYS \
                else "0"
            for day, thresholded, other_row, sampled, found, others in con.execute(
                    f"SELECT date, bool_or(subject_to_thresholding), bool_or(data_loss_from_other_row), "
                    f"bool_or(sampled), list(DISTINCT property_time_zone), {other} FROM {table.name} "
                    "WHERE date BETWEEN ? AND ? GROUP BY date", [start, end]).fetchall():
                problems[day] += data_quality_problems(table.name, thresholded, other_row, sampled, others)
                zones[day].update(found)
        for day, text in withheld_rows(con, start, end):
            problems[day].append(text)
        for day, text in other_dated_rows(con, start, end):
            problems[day].append(text)
    verdicts = []
    for day, found in problems.items():
        wrong = sorted(zone for zone in zones[day] if zone and not same_zone(zone, settings.timezone, start, end))
        if wrong:
            text = (f"GA4 property time zone {', '.join(wrong)} ≠ PMKPI_TIMEZONE {settings.timezone}: GA4 dates "
                    f"are days in the property's zone, so {day} is not the pipeline's {day}; set PMKPI_TIMEZONE="
                    f"{wrong[0]} (or change the property's zone) and re-run")
            verdicts.append((DayVerdict(day, False, text, {"problems": MetadataValue.json([text, *found])}),
                             AssetCheckSeverity.ERROR))
            continue
        verdicts.append((DayVerdict(day, not found, "; ".join(found) or "no thresholding, no (other) row, "
                                    "nothing withheld, time zone matches",
                                    {"problems": MetadataValue.json(found)}), AssetCheckSeverity.WARN))
    yield from _evaluate(context, "ga4_data_quality", verdicts)
    yield from check_outputs(context)


def data_quality_problems(report: str, thresholded: bool, other_row: bool, sampled: bool, others: int) -> list[str]:
    """What GA4 said about one report's rows of one day, in words."""
    problems = []
    if thresholded:
        problems.append(f"{report}: subject to thresholding (small counts withheld)")
    if other_row:
        problems.append(f"{report}: rows rolled into '(other)'")
    if others:
        problems.append(f"{report}: {others} '(other)' row(s) landed (their keys are unknown)")
    if sampled:
        problems.append(f"{report}: computed from a sample of the events")
    return problems


def withheld_rows(con, start, end) -> Iterable[tuple]:
    """Days whose breakdowns add up to less than the property's totals: rows GA4 withheld (thresholding)."""
    return con.execute(f"""
        WITH totals AS (SELECT date, sum(sessions) AS sessions, sum(screen_page_views) AS views
                        FROM {GA4_TOTALS.name} WHERE date BETWEEN $1 AND $2 GROUP BY date),
             channels AS (SELECT date, sum(sessions) AS sessions FROM {GA4_TRAFFIC.name}
                          WHERE date BETWEEN $1 AND $2 GROUP BY date),
             pages AS (SELECT date, sum(screen_page_views) AS views FROM {GA4_PAGES.name}
                       WHERE date BETWEEN $1 AND $2 GROUP BY date)
        SELECT t.date, 'withheld: ' || (t.sessions - coalesce(c.sessions, 0)) || ' of ' || t.sessions
                      || ' sessions are in no channel row' AS text
        FROM totals t LEFT JOIN channels c USING (date) WHERE t.sessions > coalesce(c.sessions, 0)
        UNION ALL
        SELECT t.date, 'withheld: ' || (t.views - coalesce(p.views, 0)) || ' of ' || t.views
                      || ' page views are in no page row'
        FROM totals t LEFT JOIN pages p USING (date) WHERE t.views > coalesce(p.views, 0)
        ORDER BY 1, 2""", [start, end]).fetchall()


def other_dated_rows(con, start, end) -> list[tuple]:
    """Every day of a pull in which GA4 dated rows ``(other)``: those rows belong to no day of it."""
    exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                         [GA4_OTHER_DATES.name]).fetchone()[0]
    if not exists:
        return []
    pulls = con.execute(f"SELECT range_start, range_end, string_agg(DISTINCT report, ', '), count(*) "
                        f"FROM {GA4_OTHER_DATES.name} WHERE range_start <= ? AND range_end >= ? GROUP BY ALL",
                        [end, start]).fetchall()
    return [(day, f"{count} row(s) of {reports} dated '(other)' in the pull of {first}..{last}: in no day's numbers")
            for first, last, reports, count in pulls for day in days(max(first, start), min(last, end))]
