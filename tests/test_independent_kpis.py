"""Another company's billing DB and CSVs (same schema, different numbers): every KPI equals the spec
re-implemented independently in pandas (``spec_kpis.py``), on days whose windows are fully landed."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest
from spec_kpis import SpecKpis
from support import TEST_END, TEST_START

DAYS = (date(2025, 2, 15), date(2025, 3, 3), date(2025, 3, 31))


@pytest.fixture(scope="module")
def other_company_run(code_location, sandbox, tmp_path_factory):
    """Billing and inputs from a second company (seed 99), GA4/Mailchimp from the sandbox, one run."""
    from dagster import DagsterInstance, materialize
    from support import range_tags

    from pmkpi_pipeline.defs.billing.resource import BillingDatabase
    from pmkpi_pipeline.defs.inputs.resource import InputsFolder
    from pmkpi_pipeline.lib.warehouse import WarehouseResource
    from pmkpi_sandbox.company import generate_company
    from pmkpi_sandbox.demo import write_company

    folder = tmp_path_factory.mktemp("other")
    other = generate_company(seed=99, size="tiny", start=TEST_START, end=TEST_END)
    exported = write_company(other, folder)
    warehouse = WarehouseResource(path=str(folder / "warehouse.duckdb"))
    materialize(
        [*code_location.defs.assets, *code_location.defs.asset_checks],
        resources={**code_location.build_resources(), "warehouse": warehouse,
                   "billing": BillingDatabase(url=exported["PMKPI_BILLING_DB_URL"]),
                   "inputs": InputsFolder(path=exported["PMKPI_INPUTS_DIR"])},
        tags=range_tags(TEST_START, TEST_END), instance=DagsterInstance.ephemeral(),
    )
    with warehouse.connect() as con:
        rows = con.execute("SELECT date, kpi, value FROM kpis WHERE dimension IS NULL").df()
    rows["date"] = pd.to_datetime(rows["date"]).dt.date
    return rows.set_index(["date", "kpi"])["value"], SpecKpis(sandbox.company, other)


@pytest.mark.parametrize("day", DAYS, ids=str)
def test_every_kpi_equals_the_independent_computation(other_company_run, day):
    landed, spec = other_company_run
    expected = spec.values(day)
    assert len(expected) == 26
    mismatches = {}
    for kpi, want in expected.items():
        got = landed.loc[(day, kpi)]
        got = None if got is None or (isinstance(got, float) and math.isnan(got)) else got
        if want is None or got is None:
            if want is not got:
                mismatches[kpi] = (got, want)
        elif got != pytest.approx(want, rel=1e-9, abs=1e-9):
            mismatches[kpi] = (got, want)
    assert not mismatches, mismatches
