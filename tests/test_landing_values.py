"""Issue 10 point 6: non-finite and impossible values, key normalisation, known currencies.

Each case is a real export file landed through the file-drop connector and the shared
landing path; the assertions name the quarantined rows, their row numbers and reasons.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow.parquet as pq

from kam_transforms.entities import entity
from kam_transforms.extract.filedrop import FileDropConnector
from kam_transforms.extract.run import run_extract

AS_OF = date(2026, 10, 31)
FX = entity("erp", "fx_rates")
ORDERS = entity("erp", "orders")
INVOICES = entity("erp", "invoices")


def write(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def quarantined(result: dict[str, object]) -> list[tuple[int, str]]:
    table = pq.read_table(str(result["quarantine_path"]))
    return [(r["_row_number"], r["_reason"]) for r in table.to_pylist()]


def landed(lake: Path, ent: object, column: str) -> list[str]:
    part = lake / "raw" / ent.source / ent.name / f"as_of={AS_OF}"  # type: ignore[attr-defined]
    (path,) = part.glob("*.parquet")
    return [str(v) for v in pq.read_table(path).column(column).to_pylist()]


def fx_drop(exports: Path, *extra: str) -> None:
    write(
        exports / "erp" / "fx_rates.csv",
        ["currency,rate_date,rate_to_base", "USD,2026-10-31,1.0", "EUR,2026-10-31,1.08", *extra],
    )


def test_impossible_fx_rates_are_quarantined_and_their_currency_stays_unknown(
    tmp_path: Path,
) -> None:
    exports, lake = tmp_path / "x", tmp_path / "lake"
    fx_drop(
        exports,
        "GBP,2026-10-31,0",  # row 3: a rate of 0 cannot convert
        "CHF,2026-10-31,-0.9",  # row 4
        "JPY,2026-10-31,inf",  # row 5
        "sek,2026-10-31,0.095",  # row 6: lands, upper-cased
    )
    fx = run_extract(FileDropConnector(exports), FX, lake, AS_OF)
    assert (fx["rows_in"], fx["rows_landed"], fx["rows_quarantined"]) == (6, 3, 3)
    assert quarantined(fx) == [
        (3, "rate_to_base must be positive: '0'"),
        (4, "rate_to_base must be positive: '-0.9'"),
        (5, "non-finite number in rate_to_base: 'inf'"),
    ]
    assert landed(lake, FX, "currency") == ["USD", "EUR", "SEK"]

    # GBP's only fx row was quarantined: an order in GBP is not convertible, so it waits too.
    write(
        exports / "erp" / "orders.csv",
        [
            ",".join(ORDERS.columns),
            "O1,C1,2026-10-01,EUR,open,2026-10-01T10:00:00Z",
            "O2,C1,2026-10-02,GBP,open,2026-10-02T10:00:00Z",
            "O3,C1,2026-10-03,sek,open,2026-10-03T10:00:00Z",
        ],
    )
    orders = run_extract(FileDropConnector(exports), ORDERS, lake, AS_OF)
    assert (orders["rows_landed"], orders["rows_quarantined"]) == (2, 1)
    assert quarantined(orders) == [(2, "unknown currency in currency: 'GBP'")]


def test_non_finite_and_huge_amounts_are_quarantined_with_their_reason(tmp_path: Path) -> None:
    exports, lake = tmp_path / "x", tmp_path / "lake"
    fx_drop(exports)
    run_extract(FileDropConnector(exports), FX, lake, AS_OF)
    amounts = ["100.5", "Infinity", "inf", "-inf", "nan", "1e308", "1E400", "999999999999999"]
    write(
        exports / "erp" / "invoices.csv",
        [",".join(INVOICES.columns)]
        + [
            f"I{i},C1,O{i},2026-10-01,2026-10-31,{amount},EUR,open,2026-10-01T10:00:00Z"
            for i, amount in enumerate(amounts, start=1)
        ],
    )
    result = run_extract(FileDropConnector(exports), INVOICES, lake, AS_OF)
    assert result["rows_in"] == 8 == result["rows_landed"] + result["rows_quarantined"]
    assert landed(lake, INVOICES, "invoice_id") == ["I1", "I8"]
    assert quarantined(result) == [
        (2, "non-finite number in amount: 'Infinity'"),
        (3, "non-finite number in amount: 'inf'"),
        (4, "non-finite number in amount: '-inf'"),
        (5, "not a number in amount: 'nan'"),
        (6, "number in amount too large: '1e308' (limit 1e+15)"),
        (7, "non-finite number in amount: '1E400'"),
    ]
    assert result["quarantine_reasons"] == {
        "non_finite_number": 4,
        "number_too_large": 1,
        "unparseable_number": 1,
    }


def test_keys_are_trimmed_as_staging_trims_them_so_padded_duplicates_are_caught(
    tmp_path: Path,
) -> None:
    exports, lake = tmp_path / "x", tmp_path / "lake"
    fx_drop(exports)
    run_extract(FileDropConnector(exports), FX, lake, AS_OF)
    write(
        exports / "erp" / "orders.csv",
        [
            ",".join(ORDERS.columns),
            "ORD-5,C1,2026-10-01,EUR,open,2026-10-01T10:00:00Z",
            "ORD-5 ,C1,2026-10-02,EUR,open,2026-10-02T10:00:00Z",
            " ORD-6,C2 ,2026-10-03,EUR,open,2026-10-03T10:00:00Z",
        ],
    )
    result = run_extract(FileDropConnector(exports), ORDERS, lake, AS_OF)
    assert (result["rows_landed"], result["rows_quarantined"]) == (1, 2)
    assert quarantined(result) == [
        (1, "duplicate key order_id=ORD-5 appears 2 times in the batch"),
        (2, "duplicate key order_id=ORD-5 appears 2 times in the batch"),
    ]
    # the key and the foreign key land trimmed: staging and the raw suite see one spelling
    assert landed(lake, ORDERS, "order_id") == ["ORD-6"]
    assert landed(lake, ORDERS, "customer_id") == ["C2"]
