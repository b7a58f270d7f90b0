"""X12 data types on landing: dates, amounts and quantities."""

from __future__ import annotations

import polars as pl

from etl.sources.x12.placed import table_frame
from etl.sources.x12.tables import SERVICE_LINES
from etl.sources.x12.typed import type_rows


def _columns(**values: list[object]) -> pl.DataFrame:
    rows = len(next(iter(values.values())))
    return table_frame(SERVICE_LINES, pl.DataFrame(
        {"line_number": list(range(1, rows + 1)), **values}))


def test_amounts_dates_and_quantities_are_typed() -> None:
    table, failures = type_rows(SERVICE_LINES, _columns(
        set_position=[1], claim_position=[2], line_charge=["-12.5"], units=["2.500"],
        service_from=["20240229"]))
    assert not failures
    row = table.to_pylist()[0]
    assert str(row["line_charge"]) == "-12.50" and str(row["units"]) == "2.500"


def test_values_that_fail_their_type_are_reported() -> None:
    _, failures = type_rows(SERVICE_LINES, _columns(
        set_position=[1, 1, 1, 1], claim_position=[2, 2, 2, 2],
        line_charge=["12.345", "1e3", "1,000", "12"], service_from=[None, "20230229", None,
                                                                    "2024-01-01"]))
    found = {(f.row, f.column) for f in failures}
    assert found == {(0, "line_charge"), (1, "line_charge"), (2, "line_charge"),
                     (1, "service_from"), (3, "service_from")}
