"""Marketing-input CSVs: good files parse; each kind of bad line is named by file, line and column."""

from __future__ import annotations

from datetime import date

import pytest

from pmkpi_pipeline.defs.inputs.resource import (
    INDUSTRY_SALES,
    MARKETING_SPEND,
    InputFileError,
    InputsFolder,
)


def _folder(tmp_path, name, text):
    (tmp_path / name).write_text(text)
    return InputsFolder(path=str(tmp_path))


def test_good_spend_file_parses_with_line_numbers(tmp_path):
    frame = _folder(tmp_path, "marketing_spend.csv",
                    "date,channel,amount\n2025-01-01,Paid Search,120.5\n2025-01-02,Email,0\n").read(MARKETING_SPEND)
    assert frame["amount"].tolist() == [120.5, 0.0]
    assert frame["date"].tolist() == [date(2025, 1, 1), date(2025, 1, 2)]
    assert frame["source_line"].tolist() == [2, 3]
    assert frame["currency"].tolist() == ["", ""]


@pytest.mark.parametrize("text, message", [
    ("day,channel,amount\n2025-01-01,Email,1\n", "lacks column(s) date"),
    ("date,channel,amount\n2025-01-01,Email,1\n01/02/2025,Email,2\n", "line 3: column date value '01/02/2025'"),
    ("date,channel,amount\n2025-01-01,Email,ten\n", "line 2: column amount value 'ten' is not a number"),
    ("date,channel,amount\n2025-01-01,Email,-5\n", "line 2: column amount value '-5' is negative"),
])
def test_bad_spend_file_names_file_line_and_column(tmp_path, text, message):
    folder = _folder(tmp_path, "marketing_spend.csv", text)
    with pytest.raises(InputFileError, match="marketing_spend.csv") as info:
        folder.read(MARKETING_SPEND)
    assert message in str(info.value)


def test_missing_file_and_bad_month(tmp_path):
    with pytest.raises(InputFileError, match="industry_sales.csv: file not found"):
        InputsFolder(path=str(tmp_path)).read(INDUSTRY_SALES)
    folder = _folder(tmp_path, "industry_sales.csv", "month,market,total_sales\n2025-1-x,EU,10\n")
    with pytest.raises(InputFileError, match="line 2: column month"):
        folder.read(INDUSTRY_SALES)
