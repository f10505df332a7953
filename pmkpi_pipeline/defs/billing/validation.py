"""The billing tables checked in the warehouse transaction that lands them, before it commits.

Every rule runs on the rows just landed (the state tables whole, the event tables' range); the first one broken
stops the run with one :class:`~.resource.BillingError` naming the table, the column, the rule and the first
offending rows, and the transaction rolls back: nothing lands, the warehouse keeps what it had.

- **ids unique** in every table;
- **required values present**: what a KPI needs to place a row (ids, the timestamps that date it, amounts);
- **enumerations valid**: ``plans.billing_interval`` (month, quarter, year), ``survey_responses.survey`` (nps,
  csat), ``invoices.status`` and ``subscriptions.status`` (Stripe's statuses and other billing systems' common
  words, in any case);
- **references resolvable**: a subscription's customer and plan, an invoice's customer, a refund's invoice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .resource import BillingError

FIRST = 5  # offending rows named in the error
INTERVALS = ("month", "quarter", "year")
SURVEYS = ("nps", "csat")
# Stripe's statuses and the common words of other billing systems: a value outside them is a typo or a column
# mapped wrongly, not a status (only 'paid' counts as revenue; a subscription is active by its dates).
INVOICE_STATUSES = ("draft", "open", "paid", "uncollectible", "void", "deleted", "pending", "failed", "refunded",
                    "partially_paid", "overdue", "unpaid", "canceled", "cancelled", "written_off")
SUBSCRIPTION_STATUSES = ("active", "trialing", "trial", "past_due", "unpaid", "paused", "canceled", "cancelled",
                         "ended", "expired", "inactive", "suspended", "pending", "incomplete", "incomplete_expired")
REQUIRED = {
    "customers": ("id", "created_at"),
    "plans": ("id", "billing_interval", "amount_cents"),
    "subscriptions": ("id", "customer_id", "plan_id", "quantity", "started_at"),
    "invoices": ("id", "customer_id", "issued_at", "amount_cents", "status"),
    "refunds": ("id", "invoice_id", "created_at", "amount_cents"),
    "survey_responses": ("id", "survey", "responded_at"),
    "product_events": ("id", "customer_id", "event_name", "occurred_at"),
}
EVENT_TABLES = ("survey_responses", "product_events")
REFERENCES = (("subscriptions", "customer_id", "customers"), ("subscriptions", "plan_id", "plans"),
              ("invoices", "customer_id", "customers"), ("refunds", "invoice_id", "invoices"))
ENUMERATIONS = (("plans", "billing_interval", INTERVALS), ("survey_responses", "survey", SURVEYS),
                ("invoices", "status", INVOICE_STATUSES), ("subscriptions", "status", SUBSCRIPTION_STATUSES))


@dataclass(frozen=True)
class Rule:
    """One rule on one column: what it says, and the SQL listing ``id, value`` of the rows that break it."""

    table: str
    column: str
    says: str
    offending: str


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def billing_rules(start: date, end: date) -> list[Rule]:
    """Every rule, for the event tables' rows of ``start..end`` and the state tables whole."""
    def rows(table: str) -> str:
        where = f" WHERE date BETWEEN DATE '{start}' AND DATE '{end}'" if table in EVENT_TABLES else ""
        return f"(SELECT * FROM raw_billing_{table}{where})"

    rules = [Rule(table, "id", "ids must be unique",
                  f"SELECT id, count(*) || ' rows' FROM {rows(table)} t WHERE id IS NOT NULL GROUP BY id "
                  "HAVING count(*) > 1 ORDER BY id")
             for table in REQUIRED]
    rules += [Rule(table, column, "a value is required",
                   f"SELECT id, NULL FROM {rows(table)} t WHERE \"{column}\" IS NULL ORDER BY id")
              for table, columns in REQUIRED.items() for column in columns]
    rules += [Rule(table, column, f"must be one of {', '.join(values)}",
                   f"SELECT id, \"{column}\" FROM {rows(table)} t WHERE \"{column}\" IS NOT NULL "
                   f"AND lower(\"{column}\") NOT IN {_in(values)} ORDER BY id")
              for table, column, values in ENUMERATIONS]
    rules += [Rule(table, column, f"must name a row of {target}",
                   f"SELECT t.id, t.\"{column}\" FROM {rows(table)} t WHERE t.\"{column}\" IS NOT NULL "
                   f"AND NOT EXISTS (SELECT 1 FROM raw_billing_{target} r WHERE r.id = t.\"{column}\") ORDER BY t.id")
              for table, column, target in REFERENCES]
    return rules


def validate_billing(con, start: date, end: date) -> None:
    """Raise :class:`BillingError` for the first rule the landed billing rows break (see the module docstring)."""
    for rule in billing_rules(start, end):
        found = con.execute(f"SELECT *, count(*) OVER () FROM ({rule.offending}) LIMIT {FIRST}").fetchall()
        if found:
            shown = ", ".join(f"id {row_id}" + ("" if value is None else f" ({value})" if rule.column == "id"
                                                else f" ({rule.column} {value!r})") for row_id, value, _ in found)
            raise BillingError(f"billing table {rule.table} column {rule.column}: {rule.says}; {found[0][2]} "
                               f"row(s) break it, first: {shown}. Nothing was landed.")
