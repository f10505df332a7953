"""Timing of every KPI family's ``compute`` over two years of synthetic data (not a pytest test).

    .venv/bin/python tests/kpis/bench_formulas.py [--events 5000000] [--customers 20000] [--db PATH] [--threads N]
                                                  [--family NAME ...] [--per-kpi] [--repeat N]

Builds raw tables of the shapes in ``pmkpi_pipeline/defs/<source>/tables.py`` in a temporary DuckDB file
with ``range()``/``random()`` in SQL (20,000 customers with one or two subscriptions, monthly
invoices, 5,000,000 product events over 730 days, daily GA4/Mailchimp/input rows), puts the real
staging views (``stg_*`` and ``int_*``, also over a reused ``--db``) on top, and times each family
over the 730-day range (wall and CPU seconds of this process). ``--per-kpi`` also times each KPI's
query of the family; ``--repeat`` runs everything N times (on a shared machine, compare the CPU
times and the best wall times).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb

from pmkpi_pipeline.defs.billing import tables as billing_tables
from pmkpi_pipeline.defs.common.staging import staging_views
from pmkpi_pipeline.defs.ga4 import tables as ga4_tables
from pmkpi_pipeline.defs.inputs import tables as inputs_tables
from pmkpi_pipeline.defs.kpis.catalog import FAMILIES
from pmkpi_pipeline.defs.kpis.formulas import FAMILY_FUNCTIONS, FORMULAS
from pmkpi_pipeline.defs.kpis.formulas.common import kpi_frame
from pmkpi_pipeline.defs.mailchimp import tables as mailchimp_tables
from pmkpi_pipeline.lib.settings import KpiSettings
from pmkpi_pipeline.lib.warehouse import WarehouseTable

SOURCES = ("ga4", "mailchimp", "billing", "inputs")
RAW_TABLE_MODULES = (ga4_tables, mailchimp_tables, billing_tables, inputs_tables)

START = date(2023, 1, 1)
DAYS = 730


def build(con: duckdb.DuckDBPyConnection, customers: int, events: int) -> None:
    """Fill the raw tables with synthetic rows (the staging views over them: :func:`create_views`)."""
    for schema in (t for m in RAW_TABLE_MODULES for t in vars(m).values()):
        if isinstance(schema, WarehouseTable):
            con.execute(schema.ddl())
    con.execute("SELECT setseed(0.42)")
    start = f"TIMESTAMP '{START.isoformat()}'"
    first_day = f"DATE '{START.isoformat()}'"
    con.execute(f"""
        INSERT INTO raw_billing_customers
        SELECT i, 'c' || i || '@example.com',
               {start} - INTERVAL 60 DAY + to_microseconds(CAST(random() * {DAYS + 60} * 86400e6 AS BIGINT)),
               NULL, ['search', 'social', 'email', 'referral', 'display'][1 + CAST(floor(random() * 5) AS INT)],
               'DE'
        FROM range(1, {customers} + 1) t(i)""")
    con.execute("""UPDATE raw_billing_customers
                   SET activated_at = created_at + to_microseconds(CAST(random() * 9 * 86400e6 AS BIGINT))
                   WHERE random() < 0.8""")
    con.execute("""INSERT INTO raw_billing_plans VALUES
        (1, 'basic', 'month', 2900, 'USD'), (2, 'pro', 'month', 9900, 'USD'),
        (3, 'basic-q', 'quarter', 8100, 'USD'), (4, 'pro-y', 'year', 99000, 'USD')""")
    con.execute("""
        INSERT INTO raw_billing_subscriptions
        SELECT id, id, 1 + CAST(floor(random() * 4) AS INT), 1 + CAST(floor(random() * 3) AS INT), 'x',
               created_at,
               CASE WHEN random() < 0.6
                    THEN created_at + to_microseconds(CAST((20 + random() * 500) * 86400e6 AS BIGINT)) END
        FROM raw_billing_customers""")
    con.execute(f"""
        INSERT INTO raw_billing_subscriptions   -- a second (upgrade) subscription for a fifth of them
        SELECT {customers} + id, customer_id, 2, 1, 'x',
               started_at + INTERVAL 45 DAY, ended_at
        FROM raw_billing_subscriptions
        WHERE id % 5 = 0 AND (ended_at IS NULL OR ended_at > started_at + INTERVAL 45 DAY)""")
    con.execute(f"""
        INSERT INTO raw_billing_invoices
        SELECT row_number() OVER (), s.customer_id, s.id, g.issued, g.issued + INTERVAL 3 HOUR,
               p.amount_cents * s.quantity, 'USD', CASE WHEN random() < 0.95 THEN 'paid' ELSE 'open' END
        FROM raw_billing_subscriptions s JOIN raw_billing_plans p ON p.id = s.plan_id,
             LATERAL generate_series(s.started_at, least(coalesce(s.ended_at, {start} + INTERVAL {DAYS} DAY),
                                     {start} + INTERVAL {DAYS} DAY), INTERVAL 1 MONTH) g(issued)""")
    con.execute("""
        INSERT INTO raw_billing_refunds
        SELECT row_number() OVER (), id, paid_at + INTERVAL 5 DAY, amount_cents // 2
        FROM raw_billing_invoices WHERE status = 'paid' AND random() < 0.02""")
    con.execute(f"""
        INSERT INTO raw_billing_survey_responses
        SELECT CAST(d AS DATE), i, 1 + i % {customers}, CASE WHEN i % 2 = 0 THEN 'nps' ELSE 'csat' END,
               CASE WHEN i % 2 = 0 THEN floor(random() * 11) ELSE 1 + floor(random() * 5) END, d
        FROM (SELECT i, {start} + to_microseconds(CAST(random() * {DAYS} * 86400e6 AS BIGINT)) AS d
              FROM range(20000) t(i))""")
    con.execute(f"""
        INSERT INTO raw_billing_product_events
        SELECT CAST(ts AS DATE), i, 1 + CAST(floor(random() * {customers}) AS BIGINT),
               CASE WHEN r < 0.4 THEN 'login'
                    WHEN r < 0.9 THEN 'feature_used:f' || CAST(floor(random() * 12) AS INT)
                    ELSE 'page_view' END,
               ts
        FROM (SELECT i, random() AS r,
                     {start} + to_microseconds(CAST(random() * {DAYS} * 86400e6 AS BIGINT)) AS ts
              FROM range({events}) t(i))""")
    days = f"(SELECT CAST(range AS DATE) AS d FROM range({first_day}, {first_day} + {DAYS}, INTERVAL 1 DAY))"
    con.execute(f"""
        INSERT INTO raw_ga4_traffic
        SELECT d, ch, s, CAST(s * 0.6 AS BIGINT), s, s // 3, s * 3, 60 + random() * 120, s * 90.0, 5,
               'UTC', false, false, false
        FROM (SELECT d, ch, 100 + CAST(random() * 900 AS BIGINT) AS s FROM {days},
              unnest(['Organic Search', 'Direct', 'Email', 'Paid Search', 'Referral', 'Social']) u(ch))""")
    con.execute(f"""
        INSERT INTO raw_ga4_pages
        SELECT d, p, CAST(random() * 500 AS BIGINT), 50, random() * 5000, 'UTC', false, false, false
        FROM {days}, unnest(['/blog/a', '/blog/b', '/resources/x', '/onboarding', '/docs/getting-started/1',
                             '/pricing', '/', '/docs/api']) u(p)""")
    con.execute(f"""
        INSERT INTO raw_ga4_events
        SELECT d, e, 50 + CAST(random() * 500 AS BIGINT), 40 + CAST(random() * 300 AS BIGINT),
               'UTC', false, false, false
        FROM {days}, unnest(['sign_up', 'purchase', 'add_to_cart', 'file_download', 'page_view']) u(e)""")
    con.execute(f"""
        INSERT INTO raw_ga4_totals
        SELECT d, 3000, 900, 4000, 2500, 12000, 'UTC', false, false, false FROM {days}""")
    con.execute(f"""
        INSERT INTO raw_mailchimp_reports
        SELECT CAST(d AS DATE), 'c' || i, 'l1', d, 5000, 1500, 3000, 1200, 300, 500, 20, 30, 5, 1
        FROM (SELECT i, {start} + INTERVAL (i * 2) DAY AS d FROM range({DAYS // 2}) t(i))""")
    con.execute(f"""
        INSERT INTO raw_mailchimp_list_activity
        SELECT d, l, 100, 10, 5, 40, 1000, 300, 50, 2, 3
        FROM {days}, unnest(['l1', 'l2', 'l3']) u(l)""")
    con.execute(f"""
        INSERT INTO raw_mailchimp_members
        SELECT d, l, md5(l || d || n), 'subscribed', 'Embedded Form', d + INTERVAL 9 HOUR, NULL, d + INTERVAL 9 HOUR
        FROM {days}, unnest(['l1', 'l2', 'l3']) u(l), range(110) r(n)""")
    con.execute(f"""
        INSERT INTO raw_inputs_marketing_spend
        SELECT d, ch, random() * 1000, 'USD', 1
        FROM {days}, unnest(['search', 'social', 'email', 'referral', 'display']) u(ch)""")
    con.execute(f"""
        INSERT INTO raw_inputs_social_media
        SELECT d, n, 10000, CAST(random() * 800 AS BIGINT), 1 FROM {days}, unnest(['x', 'linkedin']) u(n)""")
    con.execute(f"""
        INSERT INTO raw_inputs_industry_sales
        SELECT strftime({first_day} + INTERVAL (m) MONTH, '%Y-%m'), mk, 5e7, 'USD', 1
        FROM range(25) t(m), unnest(['eu', 'us']) u(mk)""")
    con.execute("CREATE TABLE stg_fx_rates AS SELECT 'USD' AS currency, 1.0 AS rate")


def create_views(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create the staging views (``stg_*`` and ``int_*``) of the current code over the raw tables."""
    for group in (staging_views(s, "UTC", "USD") for s in SOURCES):
        for name, sql in group.items():
            con.execute(f"CREATE OR REPLACE VIEW {name} AS {sql}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--db", type=Path, default=None, help="reuse or create this DuckDB file")
    parser.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: all cores)")
    parser.add_argument("--family", action="append", choices=list(FAMILY_FUNCTIONS),
                        help="time only this family (repeatable; default: all)")
    parser.add_argument("--per-kpi", action="store_true", help="also time each KPI's query of the family")
    parser.add_argument("--repeat", type=int, default=1, help="run the timings N times")
    args = parser.parse_args()
    path = args.db or Path(tempfile.mkdtemp(prefix="pmkpi-bench-")) / "bench.duckdb"
    fresh = not path.exists()
    con = duckdb.connect(str(path))
    con.execute("SET enable_progress_bar = false")
    if args.threads:
        con.execute(f"SET threads = {args.threads}")
    if fresh:
        began = time.perf_counter()
        build(con, args.customers, args.events)
        print(f"built {path} in {time.perf_counter() - began:.1f} s")
    create_views(con)
    counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
              for t in ("raw_billing_customers", "raw_billing_subscriptions", "raw_billing_invoices",
                        "raw_billing_product_events")}
    print(counts)
    cfg = KpiSettings()
    end = START + timedelta(days=DAYS - 1)
    families = {f: c for f, c in FAMILY_FUNCTIONS.items() if not args.family or f in args.family}
    for _ in range(args.repeat):
        total = total_cpu = 0.0
        for family, compute in families.items():
            if args.per_kpi:
                for kpi in (k.id for k in FAMILIES[family]):
                    began, cpu = time.perf_counter(), _cpu_seconds()
                    kpi_frame(con, kpi, FORMULAS[kpi](START, end, cfg))
                    print(f"  {kpi:<28} {time.perf_counter() - began:6.2f} s wall "
                          f"{_cpu_seconds() - cpu:6.2f} s cpu")
            began, cpu = time.perf_counter(), _cpu_seconds()
            rows = compute(con, START, end, cfg)
            took, took_cpu = time.perf_counter() - began, _cpu_seconds() - cpu
            total, total_cpu = total + took, total_cpu + took_cpu
            print(f"{family:<10} {took:6.2f} s wall {took_cpu:6.2f} s cpu  {len(rows):>6} rows  "
                  f"{int(rows['value'].isna().sum())} NULL")
        print(f"{'total':<10} {total:6.2f} s wall {total_cpu:6.2f} s cpu for {START}..{end}")


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
