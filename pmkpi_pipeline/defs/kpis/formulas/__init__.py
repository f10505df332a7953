"""The KPI formulas: one module per KPI family, each a pure function over the DuckDB staging views.

Every family module exposes::

    compute(con, start, end, cfg) -> pandas.DataFrame

which reads only the ``stg_*`` views (see :mod:`pmkpi_pipeline.staging_views`) and returns one row
per (day in ``start..end``, KPI of the family[, dimension value]) with the columns
:data:`KPI_COLUMNS`:

- ``date`` (``datetime.date``), ``kpi`` (catalog id), ``unit`` (catalog unit);
- ``value`` (float; NaN/NULL when it cannot be computed — never 0, never a missing row),
  ``numerator`` and ``denominator`` (floats, NaN when the KPI is not a ratio);
- ``dimension`` / ``dimension_value`` (None on the headline row; ``feature`` rows of
  ``feature_adoption_rate``, ``movement`` rows of ``mrr``);
- ``null_reason`` (why ``value`` is NULL, else None) and ``details`` (JSON of the spec's metadata
  items for that row, else None).

Every day of the range is computed in one set-based query per KPI (a calendar joined to the facts
of each day's trailing window), never a query per day. The building blocks shared by the families
live in :mod:`.common`; each KPI function's docstring states its numerator and denominator.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import duckdb
import pandas as pd

from ....lib.settings import KpiSettings
from . import customer, email, marketing, revenue, web
from .common import KPI_COLUMNS

FamilyFunction = Callable[[duckdb.DuckDBPyConnection, date, date, KpiSettings], pd.DataFrame]

FAMILY_FUNCTIONS: dict[str, FamilyFunction] = {
    "web": web.compute,
    "email": email.compute,
    "customer": customer.compute,
    "revenue": revenue.compute,
    "marketing": marketing.compute,
}

__all__ = ["FAMILY_FUNCTIONS", "KPI_COLUMNS", "FamilyFunction"]
