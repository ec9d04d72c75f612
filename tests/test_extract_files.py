"""File-drop extract: atomic batches, reruns replace, bad rows quarantined, clear errors."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from kam_transforms.entities import ENTITIES, entity
from kam_transforms.extract.files import ExtractError, land_entity, land_exports

AS_OF = date(2026, 10, 31)
ACCOUNTS = entity("crm", "accounts")
HEADER = ",".join(ACCOUNTS.columns)


def write_accounts(exports: Path, rows: list[str], encoding: str = "utf-8") -> Path:
    path = exports / "crm" / "accounts.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding=encoding)
    return path


def row(account_id: str, name: str) -> str:
    stamps = "2024-01-01T00:00:00Z,2026-01-01T00:00:00Z"
    return f"{account_id},{name},retail,APAC,CN,120,O1,,C1,{stamps},false"


def batch_files(lake: Path, zone: str = "raw") -> list[Path]:
    return sorted((lake / zone / "crm" / "accounts").rglob("*.parquet"))


def test_lands_every_row_as_text_with_batch_columns(tmp_path: Path) -> None:
    write_accounts(tmp_path / "x", [row("A1", "上海华联贸易有限公司"), row("A2", "Acme GmbH")])
    loaded_at = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
    result = land_entity(ACCOUNTS, tmp_path / "x", tmp_path / "lake", AS_OF, loaded_at=loaded_at)

    assert (result.rows_in, result.rows_landed, result.rows_quarantined) == (2, 2, 0)
    table = pq.read_table(result.path)
    assert Path(result.path).parent.name == "as_of=2026-10-31"
    assert table.column("account_name").to_pylist() == ["上海华联贸易有限公司", "Acme GmbH"]
    assert table.column("employee_count").to_pylist() == ["120", "120"]
    assert set(table.column("_batch_id").to_pylist()) == {result.batch_id}
    assert table.column("_loaded_at").to_pylist()[0] == datetime(2026, 11, 1, 2, 0)
    assert table.column("parent_account_id").to_pylist() == [None, None]


def test_rerun_of_the_same_date_replaces_the_batch(tmp_path: Path) -> None:
    exports, lake = tmp_path / "x", tmp_path / "lake"
    write_accounts(exports, [row("A1", "one")])
    land_entity(ACCOUNTS, exports, lake, AS_OF)
    land_entity(ACCOUNTS, exports, lake, AS_OF)
    assert len(batch_files(lake)) == 1

    write_accounts(exports, [row("A1", "one"), row("A2", "two")])
    second = land_entity(ACCOUNTS, exports, lake, AS_OF)
    files = batch_files(lake)
    assert [f.name for f in files] == [f"{second.batch_id}.parquet"]
    assert pq.read_table(files[0]).num_rows == 2

    land_entity(ACCOUNTS, exports, lake, date(2026, 11, 1))
    assert len(batch_files(lake)) == 2  # another date is another partition


def test_bad_keys_are_quarantined_with_reason_and_row(tmp_path: Path) -> None:
    exports, lake = tmp_path / "x", tmp_path / "lake"
    write_accounts(
        exports,
        [
            row("A1", "ok"),
            row("A2", "first"),
            row("", "no key"),
            row("A2", "second"),
            row("A3", "ok too"),
        ],
    )
    result = land_entity(ACCOUNTS, exports, lake, AS_OF)

    assert (result.rows_in, result.rows_landed, result.rows_quarantined) == (5, 2, 3)
    assert pq.read_table(result.path).column("account_id").to_pylist() == ["A1", "A3"]
    assert result.quarantine_path is not None
    bad = pq.read_table(result.quarantine_path).to_pylist()
    assert [(r["_row_number"], r["_reason"]) for r in bad] == [
        (2, "duplicate key account_id=A2 appears 2 times in the batch"),
        (3, "required key column account_id is empty"),
        (4, "duplicate key account_id=A2 appears 2 times in the batch"),
    ]
    assert all(r["_source_file"].endswith("crm/accounts.csv") for r in bad)

    # A clean rerun of the date clears that date's quarantine.
    write_accounts(exports, [row("A1", "ok")])
    land_entity(ACCOUNTS, exports, lake, AS_OF)
    assert batch_files(lake, "quarantine") == []


def test_missing_required_column_names_file_and_column(tmp_path: Path) -> None:
    path = tmp_path / "x" / "crm" / "accounts.csv"
    path.parent.mkdir(parents=True)
    path.write_text("account_id,account_name\nA1,x\n", encoding="utf-8")
    with pytest.raises(ExtractError, match=r"accounts\.csv: required column\(s\) industry, region"):
        land_entity(ACCOUNTS, tmp_path / "x", tmp_path / "lake", AS_OF)
    assert batch_files(tmp_path / "lake") == []


def test_missing_export_and_empty_file_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ExtractError, match=r"crm/accounts\.csv: export for crm/accounts not found"):
        land_entity(ACCOUNTS, tmp_path, tmp_path / "lake", AS_OF)
    (tmp_path / "crm").mkdir()
    (tmp_path / "crm" / "accounts.csv").write_text("", encoding="utf-8")
    with pytest.raises(ExtractError, match="empty"):
        land_entity(ACCOUNTS, tmp_path, tmp_path / "lake", AS_OF)


def test_declared_encoding_is_honoured(tmp_path: Path) -> None:
    write_accounts(tmp_path / "x", [row("A1", "深圳市腾达科技有限公司")], encoding="gb18030")
    result = land_entity(ACCOUNTS, tmp_path / "x", tmp_path / "lake", AS_OF, encoding="gb18030")
    assert pq.read_table(result.path).column("account_name").to_pylist() == [
        "深圳市腾达科技有限公司"
    ]


def test_composite_keys_and_all_entities(tmp_path: Path) -> None:
    exports = tmp_path / "x"
    for ent in ENTITIES:
        path = exports / ent.source / f"{ent.name}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        values = ["k1" if c in ent.key else "v" for c in ent.columns]
        path.write_text(",".join(ent.columns) + "\n" + ",".join(values) + "\n", encoding="utf-8")
    fx = exports / "erp" / "fx_rates.csv"
    fx.write_text(
        "currency,rate_date,rate_to_base\nEUR,2026-10-30,1.08\nEUR,2026-10-31,1.09\n"
        "EUR,2026-10-31,1.10\n",
        encoding="utf-8",
    )
    results = {(r.source, r.entity): r for r in land_exports(exports, tmp_path / "lake", AS_OF)}
    assert len(results) == 14
    assert all(r.rows_landed == 1 for k, r in results.items() if k != ("erp", "fx_rates"))
    fx_result = results[("erp", "fx_rates")]
    assert (fx_result.rows_landed, fx_result.rows_quarantined) == (1, 2)
