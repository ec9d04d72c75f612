"""Shared landing path: row rules and quarantine, schema drift, file formats, watermarks, kills."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from kam_transforms.entities import entity
from kam_transforms.extract.filedrop import FileDropConnector
from kam_transforms.extract.landing import PAUSE_ENV, SchemaDriftError, land_batch
from kam_transforms.extract.run import Fetched, Window, run_extract
from kam_transforms.extract.state import WatermarkStore

AS_OF = date(2026, 10, 31)
ACCOUNTS = entity("crm", "accounts")
CUSTOMERS = entity("erp", "customers")
INVOICES = entity("erp", "invoices")
REPO = Path(__file__).resolve().parent.parent


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def fx_drop(exports: Path, lake: Path) -> None:
    """Drop and land fx rates: a currency is known only from landed fx rows."""
    write(
        exports / "erp" / "fx_rates.csv",
        "currency,rate_date,rate_to_base\nUSD,2026-10-31,1.0\nEUR,2026-10-31,1.08\n"
        "CNY,2026-10-31,0.14\n",
    )
    run_extract(FileDropConnector(exports), entity("erp", "fx_rates"), lake, AS_OF)


def raw_rows(lake: Path, ent: object, day: date = AS_OF) -> list[dict[str, object]]:
    folder = lake / "raw" / ent.source / ent.name / f"as_of={day}"  # type: ignore[attr-defined]
    files = sorted(folder.glob("*.parquet"))
    assert len(files) == 1, files
    return pq.read_table(files[0]).to_pylist()


def test_gb18030_export_with_mapping_and_formats_round_trips(tmp_path: Path) -> None:
    exports, lake = tmp_path / "x", tmp_path / "lake"
    fx_drop(exports, lake)
    names = ["上海华联贸易有限公司", "深圳市腾达科技有限公司", "𠀀𠀁 Ltd (four-byte GB18030)"]
    header = "客户编号;客户名称;税号;币种;账期;信用额度;创建时间;更新时间;区域"
    rows = [
        f"C{i};{name};91310000{i};CNY;60;100000;03.01.2024 08:15;31.10.2026 17:00;华东"
        for i, name in enumerate(names, start=1)
    ]
    write(exports / "erp" / "customers" / "part1.csv", "\n".join([header, *rows]) + "\n", "gb18030")
    write(
        exports / "erp" / "_export.json",
        json.dumps(
            {
                "entities": {
                    "customers": {
                        "encoding": "gb18030",
                        "delimiter": ";",
                        "timestamp_format": "%d.%m.%Y %H:%M",
                        "columns": {
                            "客户编号": "customer_id",
                            "客户名称": "customer_name",
                            "税号": "tax_id",
                            "币种": "currency",
                            "账期": "payment_terms_days",
                            "信用额度": "credit_limit",
                            "创建时间": "created_at",
                            "更新时间": "updated_at",
                        },
                    }
                }
            },
            ensure_ascii=False,
        ),
    )
    result = run_extract(FileDropConnector(exports), CUSTOMERS, lake, AS_OF)
    assert (result["rows_in"], result["rows_landed"], result["rows_quarantined"]) == (3, 3, 0)
    landed = raw_rows(lake, CUSTOMERS)
    assert [r["customer_name"] for r in landed] == names
    assert landed[0]["created_at"] == "2024-01-03T08:15:00Z"
    assert landed[0]["区域"] == "华东"  # an unmapped source column is carried through
    assert result["extra_columns"] == ["区域"]


def test_every_kind_of_bad_row_is_quarantined_with_its_reason(tmp_path: Path) -> None:
    exports, lake = tmp_path / "x", tmp_path / "lake"
    fx_drop(exports, lake)
    header = ",".join(INVOICES.columns)
    good = "I1,C1,O1,2026-10-01,2026-10-31,100.50,EUR,open,2026-10-01T10:00:00Z"
    lines = [
        good,
        "I2,C1,O2,01/10/2026,2026-10-31,10,EUR,open,2026-10-01T10:00:00Z",  # unparseable date
        "I3,C1,O3,2026-10-02,2026-11-01,-5,USD,open,2026-10-02T10:00:00Z",  # negative amount
        "I4,C1,O4,2026-10-03,2026-11-02,7,XYZ,open,2026-10-03T10:00:00Z",  # unknown currency
        "I5,C2,O5,2026-10-04,2026-11-03,8,USD,open,2026-10-04T10:00:00Z",  # duplicate key
        "I5,C2,O6,2026-10-04,2026-11-03,9,USD,open,2026-10-04T10:00:00Z",  # duplicate key
        "I6,,O7,2026-10-05,2026-11-04,3,CNY,open,2026-10-05T10:00:00Z",  # required value missing
        ",C3,O8,2026-10-05,2026-11-04,3,CNY,open,2026-10-05T10:00:00Z",  # key missing
        "I7,C3,O9,2026-10-06,2026-11-05,abc,CNY,open,2026-10-06T10:00:00Z",  # not a number
        "I8,C3,O10,2026-10-06,2026-11-05,4,cny,paid,2026-10-06T10:00:00Z",
    ]
    write(exports / "erp" / "invoices.csv", "\n".join([header, *lines]) + "\n")
    result = run_extract(FileDropConnector(exports), INVOICES, lake, AS_OF)

    assert result["rows_in"] == 10 == result["rows_landed"] + result["rows_quarantined"]
    landed = raw_rows(lake, INVOICES)
    assert [r["invoice_id"] for r in landed] == ["I1", "I8"]
    assert landed[1]["currency"] == "CNY"  # normalised
    assert landed[0]["amount"] == "100.50"  # text kept verbatim
    bad = pq.read_table(result["quarantine_path"]).to_pylist()
    assert [(r["_row_number"], r["_reason"]) for r in bad] == [
        (2, "unparseable date in invoice_date: '01/10/2026'"),
        (3, "negative amount: '-5'"),
        (4, "unknown currency in currency: 'XYZ'"),
        (5, "duplicate key invoice_id=I5 appears 2 times in the batch"),
        (6, "duplicate key invoice_id=I5 appears 2 times in the batch"),
        (7, "required value customer_id is empty"),
        (8, "required key column invoice_id is empty"),
        (9, "not a number in amount: 'abc'"),
    ]
    assert all(r["_source_file"].endswith("erp/invoices.csv") for r in bad)
    assert result["quarantine_reasons"] == {
        "duplicate_key": 2,
        "negative_amount": 1,
        "required_value_missing": 2,
        "unknown_currency": 1,
        "unparseable_date": 1,
        "unparseable_number": 1,
    }


def test_excel_parquet_and_bom_files_in_an_entity_folder(tmp_path: Path) -> None:
    exports, lake = tmp_path / "x", tmp_path / "lake"
    folder = exports / "crm" / "accounts"
    folder.mkdir(parents=True)
    base = {c: None for c in ACCOUNTS.columns}

    def account(i: int, name: str) -> dict[str, object]:
        return base | {
            "account_id": f"A{i}",
            "account_name": name,
            "employee_count": 10 * i,
            "created_at": datetime(2024, 1, i, 9, 30),
            "updated_at": datetime(2026, 10, i, 12, 0),
            "is_deleted": False,
        }

    pd.DataFrame([account(1, "Ünïcode GmbH"), account(2, "北京测试")]).to_excel(
        folder / "a.xlsx", index=False
    )
    pd.DataFrame([account(3, "Parquet Ltd")]).to_parquet(folder / "b.parquet")
    header = ",".join(ACCOUNTS.columns)
    write(
        folder / "c.csv",
        "\ufeff" + header + "\nA4,BOM Co,,,,5,,,,2024-01-04T00:00:00Z,2026-10-04T00:00:00Z,no\n",
    )
    result = run_extract(FileDropConnector(exports), ACCOUNTS, lake, AS_OF)
    landed = {r["account_id"]: r for r in raw_rows(lake, ACCOUNTS)}
    assert result["rows_landed"] == 4
    assert landed["A2"]["account_name"] == "北京测试"
    assert landed["A1"]["employee_count"] == "10"
    assert landed["A1"]["created_at"] == "2024-01-01T09:30:00Z"
    assert landed["A3"]["updated_at"] == "2026-10-03T12:00:00Z"
    assert landed["A4"]["is_deleted"] == "false"
    assert landed["A4"]["account_name"] == "BOM Co"


def test_schema_drift_missing_column_and_impossible_type_fail_the_entity(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    frame = pd.DataFrame({c: ["x", "y"] for c in ACCOUNTS.columns if c != "industry"})
    with pytest.raises(SchemaDriftError, match="crm/accounts: required column industry missing"):
        land_batch(frame, ACCOUNTS, lake, AS_OF, origin="test", validate=False)

    frame = pd.DataFrame({c: [f"A{i}" for i in range(3)] for c in ACCOUNTS.columns})
    with pytest.raises(SchemaDriftError, match="crm/accounts: column created_at has an impossible"):
        land_batch(frame, ACCOUNTS, lake, AS_OF, origin="test", validate=False)

    frame = pd.DataFrame({c: [None] for c in ACCOUNTS.columns}).assign(
        account_id="A1", account_name="n", created_at=[[1, 2]]
    )
    with pytest.raises(SchemaDriftError, match="column created_at from test: a list"):
        land_batch(frame, ACCOUNTS, lake, AS_OF, origin="test", validate=False)
    assert not (lake / "raw").exists()


class ListConnector:
    """An incremental in-memory source: rows with an ``updated_at`` cursor."""

    name = "memory"
    incremental = True

    def __init__(self, rows: list[dict[str, object]]) -> None:
        self.rows = rows
        self.windows: list[Window] = []

    def fetch(self, ent: object, window: Window) -> Fetched:
        self.windows.append(window)
        picked = [
            r
            for r in self.rows
            if (window.since is None or pd.Timestamp(r["updated_at"]) > window.since)
            and pd.Timestamp(r["updated_at"]) < window.until
        ]
        frame = pd.DataFrame(picked, columns=list(ACCOUNTS.columns))
        cursor = max((pd.Timestamp(r["updated_at"]) for r in picked), default=None)
        return Fetched(frame=frame, origin="memory", cursor_max=cursor)


def acc(i: int, updated: str, name: str | None = None) -> dict[str, object]:
    return {c: None for c in ACCOUNTS.columns} | {
        "account_id": f"A{i}",
        "account_name": name or f"n{i}",
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": updated,
        "is_deleted": "false",
    }


def test_watermark_advances_after_landing_and_a_rerun_lands_the_same_batch(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    source = ListConnector([acc(1, "2026-10-30T10:00:00Z"), acc(2, "2026-10-31T10:00:00Z")])
    first = run_extract(source, ACCOUNTS, lake, AS_OF, validate=False)
    assert first["rows_landed"] == 2
    assert first["watermark"] == "2026-10-31T10:00:00+00:00"
    state = WatermarkStore(lake)
    assert state.watermark(ACCOUNTS) == "2026-10-31T10:00:00+00:00"

    source.rows.append(acc(3, "2026-11-01T08:00:00Z"))
    source.rows[0] = acc(1, "2026-11-01T09:00:00Z", name="renamed")
    nov1 = date(2026, 11, 1)
    second = run_extract(source, ACCOUNTS, lake, nov1, validate=False)
    # A1 and A3 changed; A2, stamped at the watermark, is inside the 60-minute look-back
    assert sorted(r["account_id"] for r in raw_rows(lake, ACCOUNTS, nov1)) == ["A1", "A2", "A3"]
    assert second["start"] == "2026-10-31T10:00:00+00:00"
    assert second["since"] == "2026-10-31T09:00:00+00:00"

    again = run_extract(source, ACCOUNTS, lake, nov1, validate=False)  # rerun of the interval
    assert again["batch_id"] == second["batch_id"]
    assert again["since"] == second["since"]
    assert len(list((lake / "raw/crm/accounts/as_of=2026-11-01").glob("*.parquet"))) == 1
    assert state.load(ACCOUNTS)["runs"]["2026-11-01"]["from"] == "2026-10-31T10:00:00+00:00"


def test_a_failed_raw_suite_lands_nothing_and_keeps_the_watermark(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    source = ListConnector([acc(1, "2026-10-30T10:00:00Z")])
    run_extract(source, ACCOUNTS, lake, AS_OF)
    before = WatermarkStore(lake).path(ACCOUNTS).read_bytes()
    batch = sorted((lake / "raw/crm/accounts").rglob("*.parquet"))

    # created in the future of the run date: the raw suite blocks the whole batch
    bad = acc(2, "2026-11-01T10:00:00Z") | {"created_at": "2027-01-01T00:00:00Z"}
    source.rows.append(bad)
    from kam_transforms.extract.landing import RawValidationError

    # (2 rows: the look-back reads account 1 again)
    with pytest.raises(RawValidationError, match="raw_crm_accounts.*created_at: 1 of 2 rows"):
        run_extract(source, ACCOUNTS, lake, date(2026, 11, 1))
    assert WatermarkStore(lake).path(ACCOUNTS).read_bytes() == before
    assert sorted((lake / "raw/crm/accounts").rglob("*.parquet")) == batch


KILL_SCRIPT = textwrap.dedent(
    """
    import sys
    from datetime import date
    from pathlib import Path
    sys.path.insert(0, sys.argv[2])
    from test_extract_landing import ACCOUNTS, ListConnector, acc
    from kam_transforms.extract.run import run_extract
    source = ListConnector([acc(1, "2026-10-30T10:00:00Z"), acc(2, "2026-11-01T10:00:00Z")])
    print("started", flush=True)
    run_extract(source, ACCOUNTS, Path(sys.argv[1]), date.fromisoformat(sys.argv[3]),
                validate=False)
    """
)


def test_a_killed_extract_leaves_no_partial_batch_and_the_watermark(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    tests_dir = str(Path(__file__).parent)
    env = os.environ | {PAUSE_ENV: "0"}
    args = [sys.executable, "-c", KILL_SCRIPT, str(lake), tests_dir]
    subprocess.run([*args, "2026-10-31"], env=env, check=True, cwd=REPO, capture_output=True)
    state_path = WatermarkStore(lake).path(ACCOUNTS)
    before = state_path.read_bytes()

    env[PAUSE_ENV] = "30"
    proc = subprocess.Popen([*args, "2026-11-01"], env=env, cwd=REPO, stdout=subprocess.PIPE)
    part = lake / "raw/crm/accounts/as_of=2026-11-01"
    deadline = time.monotonic() + 60
    while not list(part.glob(".*.tmp")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(part.glob(".*.tmp")), "the extract never reached the publish step"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)

    assert list(part.glob("*.parquet")) == []  # nothing visible to dbt's *.parquet glob
    assert state_path.read_bytes() == before
    assert json.loads(before)["watermark"] == "2026-10-30T10:00:00+00:00"

    env[PAUSE_ENV] = "0"
    subprocess.run([*args, "2026-11-01"], env=env, check=True, cwd=REPO, capture_output=True)
    assert list(part.glob(".*.tmp")) == []
    # A2 is new; A1, stamped at the watermark, is read again inside the look-back
    assert [r["account_id"] for r in raw_rows(lake, ACCOUNTS, date(2026, 11, 1))] == ["A1", "A2"]
    assert WatermarkStore(lake).watermark(ACCOUNTS) == "2026-11-01T10:00:00+00:00"
    assert datetime.fromisoformat(WatermarkStore(lake).watermark(ACCOUNTS) or "").tzinfo == UTC


def test_every_entity_has_a_raw_suite_module() -> None:
    import importlib

    import great_expectations as gx

    from kam_transforms.entities import ENTITIES

    for ent in ENTITIES:
        module = importlib.import_module(f"expectations.raw_{ent.name}")
        assert (module.SOURCE, module.ENTITY, module.KEY) == (ent.source, ent.name, ent.key)
        suite = module.build(gx, AS_OF, {"USD", "EUR"})
        assert suite.name == f"raw_{ent.source}_{ent.name}"
        kinds = {e.expectation_type for e in suite.expectations}
        assert "expect_table_columns_to_match_set" in kinds
        assert kinds & {"expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"}
