"""The marketing-inputs folder: CSV files read and validated line by line.

Every problem is reported with the file and the line (1-based, header = line 1): a missing
file or column, a date that does not parse, a non-numeric or negative number, a currency that is
not a 3-letter code. (Money in a currency without a rate is caught by ``stg_inputs``.)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from dagster import ConfigurableResource


class InputFileError(ValueError):
    """A marketing-input CSV is missing or malformed; the message names file, line and column."""


@dataclass(frozen=True)
class CsvSpec:
    """A CSV's required columns, which hold dates / months / non-negative numbers, and optional ones."""

    file: str
    required: tuple[str, ...]
    dates: tuple[str, ...] = ()
    months: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    currencies: tuple[str, ...] = ()  # empty (the reporting currency) or a 3-letter code


MARKETING_SPEND = CsvSpec("marketing_spend.csv", ("date", "channel", "amount"), dates=("date",),
                          numbers=("amount",), optional=("currency",), currencies=("currency",))
SOCIAL_MEDIA = CsvSpec("social_media.csv", ("date", "network", "impressions", "engagements"),
                       dates=("date",), numbers=("impressions", "engagements"))
INDUSTRY_SALES = CsvSpec("industry_sales.csv", ("month", "market", "total_sales"), months=("month",),
                         numbers=("total_sales",), optional=("currency",), currencies=("currency",))


class InputsFolder(ConfigurableResource):
    """The folder of marketing-input CSVs (``PMKPI_INPUTS_DIR``)."""

    path: str

    def read(self, spec: CsvSpec) -> pd.DataFrame:
        """The validated rows of one CSV, with a ``source_line`` column (1-based file line)."""
        file = Path(self.path) / spec.file
        if not file.is_file():
            raise InputFileError(f"{file}: file not found (PMKPI_INPUTS_DIR={self.path})")
        try:
            frame = pd.read_csv(file, dtype=str, keep_default_na=False, skipinitialspace=True)
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise InputFileError(f"{file}: not a readable CSV ({str(exc).splitlines()[0]})") from None
        frame.columns = [str(c).strip().lower() for c in frame.columns]
        missing = [c for c in spec.required if c not in frame.columns]
        if missing:
            raise InputFileError(
                f"{file}: header {list(frame.columns)} lacks column(s) {', '.join(missing)} "
                f"(expected {', '.join(spec.required)})"
            )
        frame = frame[[c for c in (*spec.required, *spec.optional) if c in frame.columns]].copy()
        for column in spec.optional:
            if column not in frame.columns:
                frame[column] = ""
        frame["source_line"] = range(2, len(frame) + 2)
        for column in spec.dates:
            parsed = pd.to_datetime(frame[column], format="%Y-%m-%d", errors="coerce")
            self._reject(file, frame, column, parsed.isna(), "is not a date (YYYY-MM-DD)")
            frame[column] = parsed.dt.date
        for column in spec.months:
            parsed = pd.to_datetime(frame[column], format="%Y-%m", errors="coerce")
            self._reject(file, frame, column, parsed.isna(), "is not a month (YYYY-MM)")
        for column in spec.numbers:
            parsed = pd.to_numeric(frame[column], errors="coerce")
            self._reject(file, frame, column, parsed.isna(), "is not a number")
            self._reject(file, frame, column, parsed < 0, "is negative")
            frame[column] = parsed
        for column in spec.currencies:
            codes = frame[column].str.strip().str.upper()
            self._reject(file, frame, column, (codes != "") & ~codes.str.fullmatch(r"[A-Z]{3}"),
                         "is not a 3-letter currency code")
            frame[column] = codes
        return frame

    @staticmethod
    def _reject(file: Path, frame: pd.DataFrame, column: str, bad: pd.Series, why: str) -> None:
        if bad.any():
            row = frame[bad].iloc[0]
            raise InputFileError(
                f"{file} line {row['source_line']}: column {column} value {row[column]!r} {why}"
                + (f" ({int(bad.sum())} bad lines in all)" if bad.sum() > 1 else "")
            )
