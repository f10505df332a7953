"""The KPI formulas: one module per KPI family, one function per KPI, named by its catalog id.

A KPI ``k`` of the catalog is computed by the function ``k.id`` of the module ``formulas/<k.family>.py``::

    <kpi id>(start, end, cfg) -> str

which returns one DuckDB query over the staging layer's ``stg_*`` and ``int_*`` views (see
:mod:`.common`) that computes every day of ``start..end`` at once (a calendar joined to the facts of
each day's trailing window, never a query per day). Its rows have the columns ``date`` and
``value`` and any of ``numerator``, ``denominator``, ``dimension``, ``dimension_value``,
``null_reason``, ``details``; :func:`compute_family` runs a family's queries and returns the rows in
the :data:`KPI_COLUMNS` shape:

- ``date`` (``datetime.date``), ``kpi`` (catalog id), ``unit`` (catalog unit);
- ``value`` (float; NaN/NULL when it cannot be computed — never 0, never a missing row),
  ``numerator`` and ``denominator`` (floats, NaN when the KPI is not a ratio);
- ``dimension`` / ``dimension_value`` (None on the headline row; ``feature`` rows of
  ``feature_adoption_rate``, ``movement`` rows of ``mrr``);
- ``null_reason`` (why ``value`` is NULL, else None) and ``details`` (JSON of the spec's metadata
  items for that row, else None).

Each KPI function's docstring states its numerator and denominator. :func:`kpi_sql` gives one KPI's
query as text (``pmkpi sql``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import partial
from importlib import import_module

import duckdb
import pandas as pd

from ....lib.settings import KpiSettings
from ..catalog import CATALOG, FAMILIES
from .common import KPI_COLUMNS, Formula, run_formulas

FORMULAS: dict[str, Formula] = {kpi.id: getattr(import_module(f".{kpi.family}", __name__), kpi.id)
                                for kpi in CATALOG}
"""KPI id → the function building its query, found by the catalog's family and id."""

FamilyFunction = Callable[[duckdb.DuckDBPyConnection, date, date, KpiSettings], pd.DataFrame]


class UnknownKpiError(ValueError):
    """A KPI id that is not in the catalog."""


def compute_family(family: str, con: duckdb.DuckDBPyConnection, start: date, end: date,
                   cfg: KpiSettings) -> pd.DataFrame:
    """Rows of every KPI of ``family`` for every day ``start..end``, in the :data:`KPI_COLUMNS` shape."""
    return run_formulas(con, {kpi.id: FORMULAS[kpi.id] for kpi in FAMILIES[family]}, start, end, cfg)


FAMILY_FUNCTIONS: dict[str, FamilyFunction] = {family: partial(compute_family, family) for family in FAMILIES}
"""Family → ``compute(con, start, end, cfg)`` of its KPIs (:func:`compute_family`)."""


def kpi_sql(kpi_id: str, start: date, end: date, cfg: KpiSettings) -> str:
    """The query that computes ``kpi_id`` for every day ``start..end``, as the ``kpi_<family>`` asset runs it.

    Raises :class:`UnknownKpiError`, listing the valid ids, for an id that is not in the catalog.
    """
    if kpi_id not in FORMULAS:
        raise UnknownKpiError(f"unknown KPI {kpi_id!r}; valid ids: {', '.join(sorted(FORMULAS))}")
    return FORMULAS[kpi_id](start, end, cfg)


__all__ = ["FAMILY_FUNCTIONS", "FORMULAS", "KPI_COLUMNS", "FamilyFunction", "UnknownKpiError", "compute_family",
           "kpi_sql"]
