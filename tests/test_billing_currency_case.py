"""Billing money in any case of currency code: Stripe writes ``usd`` and ``eur``; the staging views convert them
with the rates of ``USD`` and ``EUR``, and a code without a rate still stops the run, named."""

import duckdb
import pytest

from pmkpi_pipeline.defs.billing import tables
from pmkpi_pipeline.defs.common.staging import CurrencyError, audit_currencies, staging_views, write_fx_rates
from pmkpi_pipeline.lib.settings import KpiSettings

CFG = KpiSettings(reporting_currency="USD", fx_rates={"EUR": 1.1})
AUDITS = [("billing plans", "SELECT 'plan ' || id, currency FROM raw_billing_plans"),
          ("billing invoices", "SELECT 'invoice ' || id, currency FROM raw_billing_invoices")]


@pytest.fixture
def con():
    con = duckdb.connect()
    for table in (tables.BILLING_CUSTOMERS, tables.BILLING_PLANS, tables.BILLING_SUBSCRIPTIONS,
                  tables.BILLING_INVOICES, tables.BILLING_REFUNDS, tables.BILLING_SURVEY_RESPONSES,
                  tables.BILLING_PRODUCT_EVENTS):
        con.execute(table.ddl())
    write_fx_rates(con, CFG)
    con.execute("INSERT INTO raw_billing_plans VALUES (1, 'Pro', 'month', 1000, 'usd'), (2, 'Euro', 'month', 1000, "
                "'Eur'), (3, 'Plain', 'month', 1000, 'USD')")
    con.execute("INSERT INTO raw_billing_subscriptions VALUES (1, 1, 1, 1, 'active', '2025-01-01', NULL), "
                "(2, 2, 2, 2, 'active', '2025-01-01', NULL), (3, 3, 3, 1, 'active', '2025-01-01', NULL)")
    con.execute("INSERT INTO raw_billing_invoices VALUES (1, 1, 1, '2025-01-01', '2025-01-01', 1000, 'usd', 'paid'), "
                "(2, 2, 2, '2025-01-01', '2025-01-01', 2000, 'eur', 'paid'), "
                "(3, 3, 3, '2025-01-01', '2025-01-01', 1000, 'USD', 'paid')")
    con.execute("INSERT INTO raw_billing_refunds VALUES (1, 2, '2025-01-05', 500)")
    for name, select in staging_views("billing", "UTC", "USD").items():
        if name in ("stg_subscriptions", "stg_invoices", "stg_refunds"):
            con.execute(f"CREATE VIEW {name} AS {select}")
    return con


def test_lower_and_mixed_case_codes_are_converted_with_their_rates(con):
    audit_currencies(con, AUDITS, CFG)  # every code has a rate, whatever its case
    assert con.execute("SELECT subscription_id, currency, mrr_amount FROM stg_subscriptions ORDER BY 1").fetchall() \
        == [(1, "USD", 10.0), (2, "EUR", pytest.approx(22.0)), (3, "USD", 10.0)]
    assert con.execute("SELECT invoice_id, currency, amount FROM stg_invoices ORDER BY 1").fetchall() \
        == [(1, "USD", 10.0), (2, "EUR", pytest.approx(22.0)), (3, "USD", 10.0)]
    assert con.execute("SELECT currency, amount FROM stg_refunds").fetchall() == [("EUR", pytest.approx(5.5))]


def test_a_code_without_a_rate_is_still_an_error_naming_the_row(con):
    con.execute("UPDATE raw_billing_invoices SET currency = 'gbp' WHERE id = 3")
    with pytest.raises(CurrencyError, match=r"billing invoices: 1 row\(s\) .* invoice 3 \(gbp\)"):
        audit_currencies(con, AUDITS, CFG)
