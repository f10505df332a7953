"""A planted price change: every plan in use costs 20 % more from one instant on, for everyone.

Applied to the billing tables once they are drawn, so nothing else moves: each plan in use gets a new
plan row at the new price; a subscription active at the instant ends then and a new one on the new plan
starts at the same instant (same customer, same quantity, the old one's end), as a plan change does, so
the customer stays active; later subscriptions are on the new plans; an invoice issued from the instant
on is at its subscription's new price (its billing date unchanged) and a refund of it in proportion.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

PRICE_RISE = 1.2


def _with_price_change(billing: dict[str, pd.DataFrame], moment: np.datetime64, label: str
                       ) -> dict[str, pd.DataFrame]:
    """``billing`` (the seven tables by name) with the prices raised from ``moment`` (naive UTC) on; the new
    plans are named ``<name> (from <label>)``."""
    plans, subscriptions = billing["plans"], billing["subscriptions"]
    started, ended = subscriptions["started_at"], subscriptions["ended_at"]
    later = (started >= moment).to_numpy()
    active = (~later & (ended.isna() | (ended > moment))).to_numpy()
    in_use = np.unique(subscriptions["plan_id"].to_numpy()[active | later])
    new_ids = dict(zip(in_use.tolist(), range(int(plans["id"].max()) + 1, int(plans["id"].max()) + 1 + len(in_use))))
    new_plans = plans[plans["id"].isin(in_use)].assign(
        id=lambda frame: frame["id"].map(new_ids),
        name=lambda frame: frame["name"] + f" (from {label})",
        amount_cents=lambda frame: np.round(frame["amount_cents"] * PRICE_RISE).astype(np.int64),
    )
    plans = pd.concat([plans, new_plans], ignore_index=True)

    moved = subscriptions[active].assign(started_at=np.datetime64(moment, "ns"))
    kept = subscriptions.copy()
    kept.loc[active, "ended_at"] = np.datetime64(moment, "ns")
    kept.loc[active, "status"] = "canceled"
    rows = pd.concat([kept, moved], keys=["kept", "moved"], names=["part", "row"]).reset_index()
    on_new_plan = (rows["part"] == "moved") | rows["row"].isin(np.flatnonzero(later))
    rows.loc[on_new_plan, "plan_id"] = rows.loc[on_new_plan, "plan_id"].map(new_ids)
    rows = rows.sort_values(["started_at", "customer_id"], kind="stable", ignore_index=True)
    rows["id"] = np.arange(1, len(rows) + 1)

    invoices, refunds = _repriced_invoices(billing["invoices"], billing["refunds"], subscriptions, rows, plans,
                                           moment)
    return {**billing, "plans": plans, "subscriptions": rows.drop(columns=["part", "row"]),
            "invoices": invoices, "refunds": refunds}


def _repriced_invoices(invoices: pd.DataFrame, refunds: pd.DataFrame, before: pd.DataFrame, rows: pd.DataFrame,
                       plans: pd.DataFrame, moment: np.datetime64) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Invoices pointing at the renumbered subscriptions (the new one from ``moment`` on) at their plan's price
    times quantity; refunds scaled with their invoice."""
    old_id = before["id"].to_numpy()[rows["row"].to_numpy()]
    part_ids = {part: pd.Series(rows["id"].to_numpy()[rows["part"] == part], old_id[rows["part"] == part])
                for part in ("kept", "moved")}
    subscription = invoices["subscription_id"]
    renumbered = subscription.map(part_ids["kept"])
    later = (invoices["issued_at"] >= moment) & subscription.isin(part_ids["moved"].index)
    renumbered[later] = subscription[later].map(part_ids["moved"])
    invoices = invoices.assign(subscription_id=renumbered.astype("Int64"))

    by_id = rows.set_index("id")
    amount = plans.set_index("id")["amount_cents"]
    billed = invoices["subscription_id"].notna() & (invoices["issued_at"] >= moment)
    ids = invoices.loc[billed, "subscription_id"].astype(np.int64)
    new_amount = invoices["amount_cents"].copy()
    new_amount[billed] = (amount.reindex(by_id.loc[ids, "plan_id"]).to_numpy()
                          * by_id.loc[ids, "quantity"].to_numpy())
    scale = (new_amount / invoices["amount_cents"]).set_axis(invoices["id"])
    refunds = refunds.assign(amount_cents=np.round(
        refunds["amount_cents"] * scale.reindex(refunds["invoice_id"]).to_numpy()).astype(np.int64))
    return invoices.assign(amount_cents=new_amount.astype(np.int64)), refunds
