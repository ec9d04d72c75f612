"""Issue 10 point 4: full-snapshot file drops delete what vanished, within declared limits.

Real export files on two consecutive days: a customer missing from the second day's drop is
tombstoned (and gone from staging and customer_tiers), a header-only or wholly quarantined
snapshot fails, a large shrink needs the flag, and an incremental declaration deletes nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from kam_transforms.entities import entity
from kam_transforms.extract.filedrop import FileDropConnector
from kam_transforms.extract.run import run_extract
from kam_transforms.extract.snapshot import SnapshotError

DAY1, DAY2 = date(2026, 10, 30), date(2026, 10, 31)
FX = entity("erp", "fx_rates")
CUSTOMERS = entity("erp", "customers")
ORDERS = entity("erp", "orders")
REPO = Path(__file__).resolve().parent.parent


def write(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def customers_csv(exports: Path, ids: list[str], bad: bool = False) -> None:
    credit = "-1" if bad else "1000"  # a negative credit limit is quarantined
    write(
        exports / "erp" / "customers.csv",
        [",".join(CUSTOMERS.columns)]
        + [
            f"{c},Name {c},T{c},EUR,30,{credit},2024-01-01T00:00:00Z,2026-10-01T00:00:00Z"
            for c in ids
        ],
    )


def land(exports: Path, lake: Path, ent: object, day: date, **kw: object) -> dict[str, object]:
    return run_extract(FileDropConnector(exports), ent, lake, day, **kw)  # type: ignore[arg-type]


def partition(lake: Path, ent: object, day: date) -> list[dict[str, object]]:
    folder = lake / "raw" / ent.source / ent.name / f"as_of={day}"  # type: ignore[attr-defined]
    return [r for f in sorted(folder.glob("*.parquet")) for r in pq.read_table(f).to_pylist()]


@pytest.fixture
def drop(tmp_path: Path) -> tuple[Path, Path]:
    exports, lake = tmp_path / "x", tmp_path / "lake"
    write(
        exports / "erp" / "fx_rates.csv",
        ["currency,rate_date,rate_to_base", "EUR,2026-10-01,1.08"],
    )
    land(exports, lake, FX, DAY1)
    return exports, lake


def test_a_customer_missing_from_the_next_days_drop_is_tombstoned(
    drop: tuple[Path, Path],
) -> None:
    exports, lake = drop
    customers_csv(exports, ["C1", "C2", "C3", "C4"])
    first = land(exports, lake, CUSTOMERS, DAY1)
    assert (first["rows_landed"], first["rows_deleted"]) == (4, 0)

    customers_csv(exports, ["C1", "C2", "C4"])
    second = land(exports, lake, CUSTOMERS, DAY2)
    assert (second["rows_in"], second["rows_landed"], second["rows_quarantined"]) == (3, 3, 0)
    assert second["rows_deleted"] == 1
    rows = {r["customer_id"]: r for r in partition(lake, CUSTOMERS, DAY2)}
    assert sorted(rows) == ["C1", "C2", "C3", "C4"]
    assert rows["C3"]["is_deleted"] == "true"
    assert rows["C3"]["customer_name"] == "Name C3"  # the previous row, flagged deleted
    assert [rows[c]["is_deleted"] for c in ("C1", "C2", "C4")] == [None, None, None]

    # the third day: C3 stays deleted without a second tombstone (it is no longer live)
    third = land(exports, lake, CUSTOMERS, date(2026, 11, 1))
    assert third["rows_deleted"] == 0
    # a rerun of day 2 lands the same batch again (same tombstone, same batch id)
    again = land(exports, lake, CUSTOMERS, DAY2)
    assert (again["batch_id"], again["rows_deleted"]) == (second["batch_id"], 1)


def test_a_header_only_snapshot_fails_unless_allowed(drop: tuple[Path, Path]) -> None:
    exports, lake = drop
    header = ",".join(ORDERS.columns)
    write(exports / "erp" / "orders.csv", [header, "O1,C1,2026-10-01,EUR,open,"])
    land(exports, lake, ORDERS, DAY1)

    write(exports / "erp" / "orders.csv", [header])
    with pytest.raises(SnapshotError, match=r"erp/orders: the full snapshot .*orders.csv has no"):
        land(exports, lake, ORDERS, DAY2)
    assert not (lake / "raw/erp/orders" / f"as_of={DAY2}").exists()

    write(
        exports / "erp" / "_export.json",
        [json.dumps({"entities": {"orders": {"allow_empty": True}}})],
    )
    allowed = land(exports, lake, ORDERS, DAY2)
    assert (allowed["rows_in"], allowed["rows_landed"], allowed["rows_deleted"]) == (0, 0, 1)
    assert [(r["order_id"], r["is_deleted"]) for r in partition(lake, ORDERS, DAY2)] == [
        ("O1", "true")
    ]


def test_a_wholly_quarantined_snapshot_fails(drop: tuple[Path, Path]) -> None:
    exports, lake = drop
    customers_csv(exports, ["C1", "C2"])
    land(exports, lake, CUSTOMERS, DAY1)
    customers_csv(exports, ["C1", "C2"], bad=True)
    with pytest.raises(
        SnapshotError,
        match=r"every one of the 2 rows .* was quarantined \(negative_credit_limit: 2\)",
    ):
        land(exports, lake, CUSTOMERS, DAY2)
    assert not (lake / "raw/erp/customers" / f"as_of={DAY2}").exists()


def test_a_shrink_beyond_the_limit_needs_the_flag(drop: tuple[Path, Path]) -> None:
    exports, lake = drop
    customers_csv(exports, ["C1", "C2", "C3", "C4"])
    land(exports, lake, CUSTOMERS, DAY1)
    customers_csv(exports, ["C1"])  # 3 of 4 gone: 75% > 50%
    with pytest.raises(SnapshotError, match=r"lacks 3 of the 4 keys landed before \(75%"):
        land(exports, lake, CUSTOMERS, DAY2)
    assert not (lake / "raw/erp/customers" / f"as_of={DAY2}").exists()

    # the command-line flag lets this one run through
    env = os.environ | {"KAM_HOME": str(exports.parent), "KAM_EXPORTS_DIR": str(exports),
                        "KAM_LAKE_DIR": str(lake)}  # fmt: skip
    cmd = [str(Path(sys.executable).parent / "kam"), "extract", "--as-of", str(DAY2),
           "--source", "erp", "--entity", "customers"]  # fmt: skip
    refused = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    assert refused.returncode != 0 and "--allow-shrink" in refused.stderr
    done = subprocess.run([*cmd, "--allow-shrink"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    deleted = sorted(r["customer_id"] for r in partition(lake, CUSTOMERS, DAY2) if r["is_deleted"])
    assert deleted == ["C2", "C3", "C4"]


def test_an_incremental_drop_deletes_nothing(drop: tuple[Path, Path]) -> None:
    exports, lake = drop
    write(
        exports / "erp" / "_export.json",
        [json.dumps({"entities": {"customers": {"snapshot": "incremental"}}})],
    )
    customers_csv(exports, ["C1", "C2", "C3", "C4"])
    land(exports, lake, CUSTOMERS, DAY1)
    customers_csv(exports, ["C2"])
    second = land(exports, lake, CUSTOMERS, DAY2)
    assert (second["rows_landed"], second["rows_deleted"]) == (1, 0)
    assert [r["customer_id"] for r in partition(lake, CUSTOMERS, DAY2)] == ["C2"]


@pytest.mark.slow
def test_a_vanished_customer_leaves_customer_tiers(tmp_path: Path) -> None:
    import pandas as pd
    from dbt_build import run_dbt

    from kam_transforms.demo_data import generate
    from kam_transforms.extract.connectors import land_exports

    exports, lake, db = tmp_path / "x", tmp_path / "lake", tmp_path / "build.duckdb"
    generate(exports, 80, 5, DAY1)
    land_exports(exports, lake, DAY1)

    erp = exports / "erp"
    orders = pd.read_csv(erp / "orders.csv", dtype=str, keep_default_na=False)
    lines = pd.read_csv(erp / "order_lines.csv", dtype=str, keep_default_na=False)
    revenue = (
        lines.assign(v=lines["quantity"].astype(float) * lines["unit_price"].astype(float))
        .merge(orders[["order_id", "customer_id"]], on="order_id")
        .groupby("customer_id")["v"]
        .sum()
    )
    gone = str(revenue.idxmax())  # the largest customer leaves the ERP with its documents

    def tiers(as_of: date) -> pd.DataFrame:
        proc = run_dbt(
            ["run", "--select", "+customer_tiers",
             "--vars", json.dumps({"as_of_date": str(as_of)})],
            lake, db, tmp_path,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout[-4000:]
        import duckdb

        with duckdb.connect(str(db), read_only=True) as con:
            return con.execute(
                "select customer_id, abc_class, is_key_account from main.customer_tiers"
            ).df()

    before = tiers(DAY1)
    assert before.set_index("customer_id").loc[gone, "abc_class"] == "A"

    invoices = pd.read_csv(erp / "invoices.csv", dtype=str, keep_default_na=False)
    payments = pd.read_csv(erp / "payments.csv", dtype=str, keep_default_na=False)
    customers = pd.read_csv(erp / "customers.csv", dtype=str, keep_default_na=False)
    its_orders = set(orders.loc[orders["customer_id"] == gone, "order_id"])
    its_invoices = set(invoices.loc[invoices["customer_id"] == gone, "invoice_id"])
    kept = {
        "customers": customers[customers["customer_id"] != gone],
        "orders": orders[orders["customer_id"] != gone],
        "order_lines": lines[~lines["order_id"].isin(its_orders)],
        "invoices": invoices[invoices["customer_id"] != gone],
        "payments": payments[~payments["invoice_id"].isin(its_invoices)],
    }
    for name, frame in kept.items():
        frame.to_csv(erp / f"{name}.csv", index=False)
    landed = {r["entity"]: r for r in land_exports(exports, lake, DAY2, "erp")}
    assert landed["customers"]["rows_deleted"] == 1
    assert landed["orders"]["rows_deleted"] == len(its_orders)
    assert landed["invoices"]["rows_deleted"] == len(its_invoices)

    after = tiers(DAY2)
    assert gone not in set(after["customer_id"])
    assert len(after) == len(before) - 1
