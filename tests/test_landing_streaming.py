"""Issue 16 point 1: the landing streams bounded chunks and checks the whole batch in DuckDB.

The same export landed in chunks of 2 rows and in one chunk gives the same raw rows, the same
quarantine (reasons and row numbers, duplicates found across chunks and files) and the same
batch id; "no value parses" is judged on the whole batch, not per chunk; foreign keys are
checked exactly against a parent with more than 200,000 keys (the old suite skipped those).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kam_transforms.entities import entity
from kam_transforms.extract.landing import Part, land_batch, land_parts
from kam_transforms.extract.rowrules import SchemaDriftError

AS_OF = date(2026, 10, 31)
INVOICES = entity("erp", "invoices")
OWNERS = entity("crm", "owners")
ACCOUNTS = entity("crm", "accounts")


def invoice(i: str, amount: str, due: str = "2026-10-31") -> dict[str, str]:
    return {
        "invoice_id": i, "customer_id": "C1", "order_id": "O1", "invoice_date": "2026-10-01",
        "due_date": due, "amount": amount, "currency": "EUR", "status": "open",
        "updated_at": "2026-10-01T10:00:00Z",
    }  # fmt: skip


FILE_A = [
    invoice("I1", "10"), invoice("I2", "-1"), invoice("I3", "5"), invoice("I4", "x"),
    invoice("I5", "7"),
]  # fmt: skip
FILE_B = [invoice("I3 ", "6"), invoice("I6", "inf"), invoice("I7", "1"), invoice("I5", "-2")]


def parts() -> list[Part]:
    def part(name: str, rows: list[dict[str, str]]) -> Part:
        table = pa.Table.from_pylist(rows)
        return Part(name, tuple(table.column_names), lambda: table.to_batches(max_chunksize=3))

    return [part("a.csv", FILE_A), part("b.csv", FILE_B)]


def land(lake: Path, chunk_rows: int) -> tuple[object, list[dict], list[tuple]]:
    outcome = land_parts(
        parts(), INVOICES, lake, AS_OF, origin="drop", known_currencies={"EUR"},
        chunk_rows=chunk_rows,
    )  # fmt: skip
    raw = pq.read_table(outcome.path).to_pylist()
    bad = pq.read_table(str(outcome.quarantine_path)).to_pylist()
    return outcome, raw, [(r["_source_file"], r["_row_number"], r["_reason"]) for r in bad]


def test_chunked_landing_equals_one_chunk_with_duplicates_across_chunks_and_files(
    tmp_path: Path,
) -> None:
    small, raw_small, bad_small = land(tmp_path / "a", chunk_rows=2)
    whole, raw_whole, bad_whole = land(tmp_path / "b", chunk_rows=100_000)
    assert bad_small == bad_whole == [
        ("a.csv", 2, "negative amount: '-1'"),
        ("a.csv", 3, "duplicate key invoice_id=I3 appears 2 times in the batch"),
        ("a.csv", 4, "not a number in amount: 'x'"),
        ("a.csv", 5, "duplicate key invoice_id=I5 appears 2 times in the batch"),
        ("b.csv", 1, "duplicate key invoice_id=I3 appears 2 times in the batch"),
        ("b.csv", 2, "non-finite number in amount: 'inf'"),
        ("b.csv", 4,
         "negative amount: '-2'; duplicate key invoice_id=I5 appears 2 times in the batch"),
    ]  # fmt: skip
    landed = [r["invoice_id"] for r in raw_small]
    assert landed == ["I1", "I7"] == [r["invoice_id"] for r in raw_whole]
    for outcome in (small, whole):
        assert (outcome.rows_in, outcome.rows_landed, outcome.rows_quarantined) == (9, 2, 7)  # type: ignore[attr-defined]
        assert outcome.quarantine_reasons == {  # type: ignore[attr-defined]
            "duplicate_key": 4, "negative_amount": 2, "non_finite_number": 1,
            "unparseable_number": 1,
        }  # fmt: skip
    # the batch id hashes the rows, not the chunking: a rerun lands the same batch
    assert small.batch_id == whole.batch_id  # type: ignore[attr-defined]
    # the raw file is text plus lineage; no staging column leaks into it
    assert pq.read_schema(small.path).names == [*INVOICES.columns, "_batch_id", "_loaded_at"]  # type: ignore[attr-defined]


def test_no_value_parses_is_judged_on_the_whole_batch(tmp_path: Path) -> None:
    rows = [invoice("I1", "1", due="bad"), invoice("I2", "2", due="worse"),
            invoice("I3", "3"), invoice("I4", "4")]  # fmt: skip
    frame = pd.DataFrame(rows)
    # the first chunk has no parseable due_date, the batch has: rows are quarantined
    outcome = land_batch(frame, INVOICES, tmp_path, AS_OF, origin="t", chunk_rows=2,
                         known_currencies={"EUR"})  # fmt: skip
    assert (outcome.rows_landed, outcome.rows_quarantined) == (2, 2)
    # no value of the whole batch parses: schema drift, nothing lands
    frame["due_date"] = ["a", "b", "c", "d"]
    drift = r"column due_date has an impossible type.*'a', 'b', 'c'"
    with pytest.raises(SchemaDriftError, match=drift):
        land_batch(frame, INVOICES, tmp_path / "x", AS_OF, origin="t", chunk_rows=2)
    assert not (tmp_path / "x" / "raw").exists()


@pytest.mark.slow
def test_foreign_keys_are_checked_exactly_against_a_large_parent(tmp_path: Path) -> None:
    n = 200_500  # more parent keys than the old suite ever checked (it skipped above 200k)
    owners = pd.DataFrame(
        {
            "owner_id": [f"U{i}" for i in range(n)], "full_name": "x",
            "email": [f"u{i}@example.com" for i in range(n)], "manager_email": None,
            "locale": "en", "is_active": "true",
        }
    )  # fmt: skip
    assert land_batch(owners, OWNERS, tmp_path, AS_OF, origin="owners").rows_landed == n
    accounts = pd.DataFrame(
        [
            {c: None for c in ACCOUNTS.columns}
            | {"account_id": f"A{i}", "account_name": "n", "owner_id": owner,
               "created_at": "2024-01-01T00:00:00Z", "is_deleted": "false"}
            for i, owner in enumerate(["U0", f"U{n - 1}", "U-missing", " U7 "])
        ]
    )  # fmt: skip
    outcome = land_batch(accounts, ACCOUNTS, tmp_path, AS_OF, origin="accounts")
    assert outcome.rows_landed == 4  # a foreign-key miss warns, it does not block
    assert outcome.raw_validation["warnings"] == [
        "raw_crm_accounts.expect_column_values_to_be_in_set on owner_id: 1 of 4 rows "
        "(e.g. U-missing)"
    ]
