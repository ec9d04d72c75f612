"""Odoo connector against an Odoo-shaped schema in the local PostgreSQL: a full load equal to
the demo export, then an incremental run after updates and deletes lands exactly the changes."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from kam_transforms.demo_data import generate
from kam_transforms.demo_serve import load_odoo, odoo_delete, odoo_update
from kam_transforms.entities import ENTITIES, entity
from kam_transforms.extract.landing import SchemaDriftError, landed_rows
from kam_transforms.extract.odoo import OdooConnector
from kam_transforms.extract.run import LOOKBACK_ENV, run_extract

pytestmark = pytest.mark.services

DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test"
AS_OF = date(2026, 10, 31)
NEXT = date(2026, 11, 1)
# fx rates first: the other entities check their currencies against the landed rates
ERP = sorted((e for e in ENTITIES if e.source == "erp"), key=lambda e: e.name != "fx_rates")
NUMERIC = {"payment_terms_days", "credit_limit", "unit_cost", "quantity", "unit_price",
           "discount_pct", "amount", "rate_to_base"}  # fmt: skip


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("erp_exports")
    generate(out, customers=50, seed=5, as_of=AS_OF)
    return out


@pytest.fixture()
def schema(exports: Path) -> Iterator[str]:
    import psycopg

    name = f"kam_test_odoo_{uuid.uuid4().hex[:8]}"
    load_odoo(DSN, exports, name)
    yield name
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(f'drop schema if exists "{name}" cascade')


def landed(lake: Path, name: str, day: date) -> pd.DataFrame:
    files = list((lake / "raw" / "erp" / name / f"as_of={day}").glob("*.parquet"))
    assert len(files) == 1
    return pq.read_table(files[0]).to_pandas()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_full_then_incremental_with_updates_and_deletes(
    exports: Path, schema: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LOOKBACK_ENV, "0")  # exactly the changes; the overlap has its own test
    lake = tmp_path / "lake"
    odoo = OdooConnector(DSN, schema)

    # ---- first run: the whole demo ERP, equal to the export
    for ent in ERP:
        summary = run_extract(odoo, ent, lake, AS_OF)
        assert summary["rows_quarantined"] == 0, summary["quarantine_reasons"]
        got = landed(lake, ent.name, AS_OF)
        expected = pd.read_csv(
            exports / "erp" / f"{ent.name}.csv", dtype=str, keep_default_na=False
        )
        if ent.name == "order_lines":  # Odoo lines have only their numeric id
            expected["order_line_id"] = expected["order_line_id"].str.lstrip("OLN-").str.lstrip("0")
        assert len(got) == len(expected), ent.name
        key = list(ent.key)
        got = got.sort_values(key).reset_index(drop=True)
        expected = expected.sort_values(key).reset_index(drop=True)
        for col in ent.columns:
            if col in NUMERIC:
                diff = (pd.to_numeric(got[col]) - pd.to_numeric(expected[col])).abs().max()
                assert diff == 0, (ent.name, col)  # numerically exact
            else:
                mismatch = got[col].fillna("") != expected[col]
                assert not mismatch.any(), (ent.name, col, got[mismatch][[*key, col]].head())

    # ---- changes in Odoo after the first run
    odoo_update(DSN, schema, "res_partner", 1, {"name": "更名后的客户"}, at("2026-11-01T08:00:00"))
    odoo_update(
        DSN, schema, "sale_order_line", 2, {"product_uom_qty": 5}, at("2026-11-01T09:00:00")
    )
    odoo_update(
        DSN, schema, "account_move", 3,
        {"payment_state": "paid", "amount_residual": 0}, at("2026-11-01T10:00:00"),
    )  # fmt: skip
    odoo_update(DSN, schema, "res_partner", 4, {"active": False}, at("2026-11-01T07:00:00"))
    odoo_delete(DSN, schema, "account_payment", 1)
    odoo_delete(DSN, schema, "sale_order_line", 1)
    odoo_update(DSN, schema, "res_partner", 2, {"name": "later"}, at("2026-11-02T08:00:00"))

    results = {ent.name: run_extract(odoo, ent, lake, NEXT) for ent in ERP}
    assert {n: r["rows_landed"] for n, r in results.items()} == {
        "fx_rates": 0,
        "customers": 2,
        "products": 0,
        "orders": 0,
        "order_lines": 2,
        "invoices": 1,
        "payments": 1,
    }
    customers = landed(lake, "customers", NEXT).set_index("customer_id")
    assert customers.loc["CUS-0000001", "customer_name"] == "更名后的客户"
    assert customers.loc["CUS-0000001", "is_deleted"] == "false"
    assert customers.loc["CUS-0000004", "is_deleted"] == "true"  # archived: a soft delete
    lines = landed(lake, "order_lines", NEXT).set_index("order_line_id")
    assert lines.loc["2", ["quantity", "is_deleted"]].tolist() == ["5", "false"]
    assert lines.loc["1", "is_deleted"] == "true"  # hard delete -> tombstone
    assert pd.isna(lines.loc["1", "order_id"])
    payment = landed(lake, "payments", NEXT).iloc[0]
    assert (payment["payment_id"], payment["is_deleted"]) == ("PAY-000000001", "true")
    invoice = landed(lake, "invoices", NEXT).iloc[0]
    assert (invoice["invoice_id"], invoice["status"], invoice["amount_residual"]) == (
        "INV-000000003", "paid", "0",
    )  # fmt: skip
    assert results["customers"]["watermark"] == "2026-11-01T08:00:00+00:00"

    # ---- a rerun of the same date lands the same batches (tombstones included)
    for name in ("order_lines", "payments", "customers"):
        again = run_extract(odoo, entity("erp", name), lake, NEXT)
        assert again["batch_id"] == results[name]["batch_id"], name
        assert again["rows_landed"] == results[name]["rows_landed"]

    # ---- and the next date: the deleted rows are not tombstoned again
    later = run_extract(odoo, entity("erp", "payments"), lake, date(2026, 11, 2))
    assert later["rows_landed"] == 0


def test_a_late_commit_is_neither_lost_nor_doubled(
    schema: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Customer 1 is stamped w+10 min and read; then a transaction that stamped customer 2
    at w+5 min commits. Without the look-back the next run never reads it; with it (the
    default 60 min) it lands, every key is landed once in the current state, and the
    watermark never moves back."""
    lake = tmp_path / "lake"
    odoo = OdooConnector(DSN, schema)
    customers = entity("erp", "customers")
    run_extract(odoo, entity("erp", "fx_rates"), lake, AS_OF)
    first = run_extract(odoo, customers, lake, AS_OF)
    w = datetime.fromisoformat(first["watermark"])
    odoo_update(DSN, schema, "res_partner", 1, {"name": "read first"}, w + timedelta(minutes=10))
    read = run_extract(odoo, customers, lake, NEXT)
    assert read["watermark"] == (w + timedelta(minutes=10)).isoformat()
    odoo_update(DSN, schema, "res_partner", 2, {"name": "committed late"},
                w + timedelta(minutes=5))  # fmt: skip
    later = date(2026, 11, 2)

    # the defect, reproduced on a copy of the lake: no overlap, the late commit is lost
    without = tmp_path / "lake-without-overlap"
    shutil.copytree(lake, without)
    monkeypatch.setenv(LOOKBACK_ENV, "0")
    assert run_extract(odoo, customers, without, later)["rows_landed"] == 0
    state = landed_rows(without, customers, later).set_index("customer_id")
    assert state.loc["CUS-0000002", "customer_name"] != "committed late"

    monkeypatch.delenv(LOOKBACK_ENV)
    fixed = run_extract(odoo, customers, lake, later)
    assert fixed["start"] == read["watermark"]
    assert fixed["since"] == (w + timedelta(minutes=10) - timedelta(hours=1)).isoformat()
    # customer 2 (late), and whatever changed in the hour before the watermark, read again
    base = landed(lake, "customers", AS_OF)
    overlap = base[pd.to_datetime(base["updated_at"]) > pd.Timestamp(fixed["since"])]
    batch = landed(lake, "customers", later)
    assert set(batch["customer_id"]) == {"CUS-0000001", "CUS-0000002", *overlap["customer_id"]}
    assert fixed["rows_landed"] == len(batch)
    assert fixed["watermark"] == read["watermark"]  # never back
    state = landed_rows(lake, customers, later)
    assert len(state) == first["rows_landed"] and state["customer_id"].is_unique
    names = state.set_index("customer_id")["customer_name"]
    assert (names["CUS-0000001"], names["CUS-0000002"]) == ("read first", "committed late")
    again = run_extract(odoo, customers, lake, later)  # a rerun reads the same window
    assert (again["since"], again["batch_id"]) == (fixed["since"], fixed["batch_id"])


def test_missing_odoo_column_fails_the_entity(schema: str, tmp_path: Path) -> None:
    import psycopg

    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(f'alter table "{schema}".sale_order_line drop column purchase_price')
    with pytest.raises(
        SchemaDriftError,
        match=rf"erp/order_lines: required column purchase_price missing from Odoo table {schema}",
    ):
        run_extract(OdooConnector(DSN, schema), entity("erp", "order_lines"), tmp_path, AS_OF)
    assert not (tmp_path / "raw").exists()


def test_connection_from_airflow_or_env(monkeypatch: pytest.MonkeyPatch) -> None:
    conn = {"conn_type": "postgres", "host": "127.0.0.1", "port": 5432, "login": "postgres",
            "schema": "test", "extra": {"odoo_schema": "odoo_prod"}}  # fmt: skip
    monkeypatch.setenv("AIRFLOW_CONN_ERP_ODOO", json.dumps(conn))
    c = OdooConnector.from_airflow_or_env()
    assert c.schema == "odoo_prod"
    assert "dbname=test" in c.conninfo and "host=127.0.0.1" in c.conninfo
    monkeypatch.delenv("AIRFLOW_CONN_ERP_ODOO")
    monkeypatch.setenv("KAM_ODOO_DSN", DSN)
    assert OdooConnector.from_airflow_or_env().conninfo == DSN


def _landed_batch(lake: Path, zone: str, name: str, day: date) -> pd.DataFrame | None:
    files = list((lake / zone / "erp" / name / f"as_of={day}").glob("*.parquet"))
    return pq.read_table(files[0]).to_pandas() if files else None


def test_small_batches_land_what_one_batch_lands(schema: str, tmp_path: Path) -> None:
    """With 50-row batches a multi-batch extract of order lines lands exactly the rows,
    quarantined rows (reasons, row numbers), tombstones and batch id of a one-batch
    extract; the connector never hands the landing more than 50 rows at once."""
    from dataclasses import replace

    import psycopg
    import pyarrow as pa

    class Spy(OdooConnector):
        """Records the size and kind of every batch the connector hands to the landing."""

        sizes: list[tuple[int, bool]]

        def fetch(self, ent, window):
            fetched = super().fetch(ent, window)
            (part,) = fetched.parts

            def chunks():
                for b in part.chunks():
                    self.sizes.append((b.num_rows, isinstance(b, pa.RecordBatch)))
                    yield b

            fetched.parts = [replace(part, chunks=chunks)]
            return fetched

    base = tmp_path / "base"
    for name in ("fx_rates", "products", "orders"):
        run_extract(OdooConnector(DSN, schema), entity("erp", name), base, AS_OF)
    # bad rows spread over the batches: negative prices, a discount above 100 %
    for line in (3, 77, 150):
        odoo_update(DSN, schema, "sale_order_line", line, {"price_unit": -1},
                    at("2026-10-30T08:00:00"))  # fmt: skip
    odoo_update(DSN, schema, "sale_order_line", 120, {"discount": 250}, at("2026-10-30T09:00:00"))
    lines = entity("erp", "order_lines")
    loaded = datetime(2026, 11, 1, 6, tzinfo=UTC)
    small, one = Spy(DSN, schema, batch_rows=50), Spy(DSN, schema, batch_rows=1_000_000)
    results: dict[str, list[dict[str, object]]] = {"small": [], "one": []}
    for label, connector in (("small", small), ("one", one)):
        connector.sizes = []
        lake = tmp_path / label
        shutil.copytree(base, lake)
        results[label].append(run_extract(connector, lines, lake, AS_OF, loaded_at=loaded))
    # then 60 lines are hard-deleted (tombstones over two batches) and one changes
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(f'delete from "{schema}".sale_order_line where id between 200 and 259')
    odoo_update(DSN, schema, "sale_order_line", 5, {"product_uom_qty": 7},
                at("2026-11-01T09:00:00"))  # fmt: skip
    for label, connector in (("small", small), ("one", one)):
        results[label].append(
            run_extract(connector, lines, tmp_path / label, NEXT, loaded_at=loaded))  # fmt: skip

    first, second = results["small"]
    assert first["rows_in"] > 1_000 and first["rows_quarantined"] == 4
    assert first["quarantine_reasons"] == {"discount_pct_out_of_range": 1, "negative_unit_price": 3}
    changed = second["stats"]["changed"]  # line 5, and what the look-back reads again
    assert changed >= 1 and (second["rows_in"], second["stats"]["deleted"]) == (changed + 60, 60)
    for ours, theirs in zip(results["small"], results["one"], strict=True):
        for key in ("batch_id", "rows_in", "rows_landed", "rows_quarantined",
                    "quarantine_reasons", "watermark", "stats"):  # fmt: skip
            assert ours[key] == theirs[key], key
    for day in (AS_OF, NEXT):
        for zone in ("raw", "quarantine"):
            got = _landed_batch(tmp_path / "small", zone, "order_lines", day)
            want = _landed_batch(tmp_path / "one", zone, "order_lines", day)
            assert (got is None) == (want is None), (zone, day)
            if got is not None and want is not None:
                pd.testing.assert_frame_equal(got, want, obj=f"{zone} {day}")
    quarantined = _landed_batch(tmp_path / "small", "quarantine", "order_lines", AS_OF)
    assert quarantined is not None and quarantined["_row_number"].nunique() == 4
    tombstones = _landed_batch(tmp_path / "small", "raw", "order_lines", NEXT)
    assert tombstones is not None
    assert (tombstones["is_deleted"] == "true").sum() == 60
    # the batches: all Arrow, never more than the setting, the whole entity in one otherwise
    assert all(is_arrow for _, is_arrow in small.sizes + one.sizes)
    assert max(n for n, _ in small.sizes) == 50
    assert sum(n for n, _ in small.sizes) == first["rows_in"] + second["rows_in"]
    assert len(small.sizes) >= (first["rows_in"] // 50) + 2
    assert [n for n, _ in one.sizes] == [first["rows_in"], changed, 60]
