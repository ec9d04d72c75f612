"""Issue 16 item 2: the demo generator in customer blocks (a federation of regions).

With ``KAM_DEMO_BLOCK_CUSTOMERS=100`` a 250-customer world is three regions (84, 83 and 83
customers). Region 0 is the 84-customer world of the seed, byte for byte; the others are
worlds of their own with region 0's fx rates and products, their IDs following on.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from kam_transforms.demo_data import (
    BLOCK_ENV,
    block_customers,
    generate,
    region_seed,
    region_sizes,
)
from kam_transforms.entities import ENTITIES

SEED, AS_OF = 23, date(2026, 10, 31)
CUSTOMERS, BLOCK = 250, 100


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*")) if p.is_file()
    }  # fmt: skip


@pytest.fixture(scope="module")
def blocked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("blocked")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(BLOCK_ENV, str(BLOCK))
        manifest = generate(root, CUSTOMERS, SEED, AS_OF)
    return root, manifest


@pytest.fixture(scope="module")
def region0(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The unblocked world of the seed with region 0's customer count."""
    root = tmp_path_factory.mktemp("region0")
    generate(root, region_sizes(CUSTOMERS, BLOCK)[0], SEED, AS_OF)
    return root


@pytest.fixture(scope="module")
def frames(blocked: tuple[Path, dict]) -> dict[str, pd.DataFrame]:
    root, _ = blocked
    return {
        f"{e.source}/{e.name}": pd.read_csv(
            root / e.source / f"{e.name}.csv", dtype=str, keep_default_na=False
        )
        for e in ENTITIES
    }


def test_region_sizes_and_seeds() -> None:
    assert region_sizes(250, 100) == [84, 83, 83]
    assert region_sizes(100, 100) == [100]
    assert region_sizes(101, 100) == [51, 50]
    assert region_sizes(1_000_000, 100_000) == [100_000] * 10
    assert region_seed(SEED, 0) == SEED
    assert len({region_seed(SEED, r) for r in range(5)}) == 5
    assert region_seed(SEED, 1) == region_seed(SEED, 1) != region_seed(SEED + 1, 1)


def test_block_size_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(BLOCK_ENV, raising=False)
    assert block_customers() == 100_000
    monkeypatch.setenv(BLOCK_ENV, " 250 ")
    assert block_customers() == 250
    monkeypatch.setenv(BLOCK_ENV, "1e5")
    with pytest.raises(ValueError, match="KAM_DEMO_BLOCK_CUSTOMERS must be a whole number"):
        block_customers()
    monkeypatch.setenv(BLOCK_ENV, "99")
    with pytest.raises(ValueError, match="at least 100.*got 99"):
        block_customers()


def test_same_seed_gives_byte_identical_files(tmp_path: Path, blocked: tuple[Path, dict],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    root, manifest = blocked
    monkeypatch.setenv(BLOCK_ENV, str(BLOCK))
    assert generate(tmp_path, CUSTOMERS, SEED, AS_OF) == manifest
    assert _digests(tmp_path) == _digests(root)
    assert len(_digests(root)) == len(ENTITIES) + 1  # and scenarios.json


def test_up_to_one_block_the_export_is_the_unblocked_one(
    tmp_path: Path, region0: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(BLOCK_ENV, str(BLOCK))
    generate(tmp_path, 84, SEED, AS_OF)
    assert _digests(tmp_path) == _digests(region0)


def test_region_0_is_the_world_of_the_seed(blocked: tuple[Path, dict], region0: Path) -> None:
    """Every file of the federation starts with region 0's rows, byte for byte; fx rates and
    products are region 0's alone (written once); the scenarios are region 0's."""
    root, manifest = blocked
    for e in ENTITIES:
        name = f"{e.source}/{e.name}.csv"
        whole, first = (root / name).read_bytes(), (region0 / name).read_bytes()
        if f"{e.source}/{e.name}" in ("erp/fx_rates", "erp/products"):
            assert whole == first, name
        else:
            assert whole.startswith(first) and len(whole) > len(first), name
    assert manifest["scenarios"] == pd.read_json(region0 / "scenarios.json", typ="series")[
        "scenarios"
    ]
    assert manifest["customers"] == CUSTOMERS


def test_row_counts_are_the_sums(blocked: tuple[Path, dict], frames: dict) -> None:
    _, manifest = blocked
    assert manifest["row_counts"] == {name: len(f) for name, f in frames.items()}
    assert len(frames["erp/customers"]) <= CUSTOMERS  # customers created by as_of
    assert len(frames["crm/owners"]) == 3 * 10  # ten owners per region of ~83 customers


def test_ids_and_natural_keys_are_unique(frames: dict[str, pd.DataFrame]) -> None:
    for e in ENTITIES:
        f = frames[f"{e.source}/{e.name}"]
        key = list(e.key) if e.name != "owner_directory" else ["email"]
        assert not f.duplicated(key).any(), e.name
    emails = frames["crm/owners"]["email"]
    assert emails.str.contains(r"\.r1@").sum() == 10 == emails.str.contains(r"\.r2@").sum()
    assert set(frames["crm/owner_directory"]["email"]) == set(emails)
    assert frames["erp/fx_rates"].duplicated(["currency", "rate_date"]).sum() == 0


def test_every_reference_resolves_inside_its_region(frames: dict[str, pd.DataFrame]) -> None:
    f = frames

    def inside(child: str, column: str, parent: str, key: str) -> None:
        values = f[child][column]
        values = values[values != ""]
        assert len(values) > 0, (child, column)
        missing = set(values) - set(f[parent][key])
        assert not missing, (child, column, sorted(missing)[:5])

    for child, column in (
        ("crm/contacts", "account_id"), ("crm/activities", "account_id"),
        ("crm/opportunities", "account_id"), ("crm/tickets", "account_id"),
        ("crm/surveys", "account_id"), ("crm/account_plans", "account_id"),
        ("crm/accounts", "parent_account_id"),
    ):  # fmt: skip
        inside(child, column, "crm/accounts", "account_id")
    for child in ("crm/accounts", "crm/activities", "crm/account_plans"):
        inside(child, "owner_id", "crm/owners", "owner_id")
    inside("crm/surveys", "contact_id", "crm/contacts", "contact_id")
    inside("crm/accounts", "erp_customer_id", "erp/customers", "customer_id")
    inside("erp/orders", "customer_id", "erp/customers", "customer_id")
    inside("erp/order_lines", "order_id", "erp/orders", "order_id")
    inside("erp/order_lines", "product_id", "erp/products", "product_id")
    inside("erp/invoices", "order_id", "erp/orders", "order_id")
    inside("erp/invoices", "customer_id", "erp/customers", "customer_id")
    inside("erp/payments", "invoice_id", "erp/invoices", "invoice_id")

    # the offsets line up: a CRM account and its ERP customer are one company, an invoice
    # bills its own order's customer, a survey's contact works at the survey's account, an
    # account is owned by an owner of its own region (same region tag)
    acc = f["crm/accounts"].merge(f["erp/customers"], left_on="erp_customer_id",
                                  right_on="customer_id")
    assert len(acc) == len(f["erp/customers"])
    assert (acc["account_name"] == acc["customer_name"]).all()
    inv = f["erp/invoices"].merge(f["erp/orders"], on="order_id", suffixes=("", "_order"))
    assert (inv["customer_id"] == inv["customer_id_order"]).all()
    assert (inv["currency"] == inv["currency_order"]).all()
    srv = f["crm/surveys"].merge(f["crm/contacts"], on="contact_id", suffixes=("", "_contact"))
    assert (srv["account_id"] == srv["account_id_contact"]).all()
    tag = f["crm/owners"].set_index("owner_id")["email"].str.extract(r"(\.r\d+)?@")[0].fillna("")
    accounts = f["crm/accounts"].assign(tag=f["crm/accounts"]["owner_id"].map(tag))
    parents = accounts.set_index("account_id")["tag"]
    child = accounts[accounts["parent_account_id"] != ""]
    assert (child["tag"].to_numpy() == parents[child["parent_account_id"]].to_numpy()).all()
    assert accounts["tag"].value_counts().sort_index().index.tolist() == ["", ".r1", ".r2"]


def test_regions_are_worlds_of_their_own(frames: dict[str, pd.DataFrame]) -> None:
    customers = frames["erp/customers"].sort_values("customer_id")
    names = customers["customer_name"].tolist()
    first, second, third = names[:84], names[84:167], names[167:]
    assert len(second) > 70 and len(third) > 70
    assert first[: len(second)] != second != third[: len(second)]
    taxes = customers["tax_id"]
    assert taxes.nunique() == len(taxes)
    orders = frames["erp/orders"].merge(customers, on="customer_id")
    per_region = orders.groupby(orders["customer_id"].str[4:].astype(int).sub(1) // 84).size()
    assert per_region.nunique() == len(per_region) == 3  # not copies of one another


def test_parquet_writes_a_row_group_per_region(
    tmp_path: Path, frames: dict[str, pd.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(BLOCK_ENV, str(BLOCK))
    manifest = generate(tmp_path, CUSTOMERS, SEED, AS_OF, fmt="parquet")
    orders = pq.ParquetFile(tmp_path / "erp" / "orders.parquet")
    assert orders.metadata.num_row_groups == 3
    assert pq.ParquetFile(tmp_path / "erp" / "fx_rates.parquet").metadata.num_row_groups == 1
    for name, frame in frames.items():
        table = pq.read_table(tmp_path / f"{name}.parquet")
        assert table.num_rows == manifest["row_counts"][name] == len(frame), name
        key = table.column_names[0]
        values = ["" if v is None else v for v in table.column(key).to_pylist()]
        assert values == frame[key].tolist(), name


def test_the_blocked_export_lands_without_quarantine(
    tmp_path: Path, blocked: tuple[Path, dict]
) -> None:
    from kam_transforms.extract import land_exports

    root, manifest = blocked
    results = land_exports(root, tmp_path / "lake", AS_OF)
    landed = {f"{r['source']}/{r['entity']}": r for r in results}
    assert {name: r["rows_quarantined"] for name, r in landed.items()} == dict.fromkeys(
        manifest["row_counts"], 0
    )
    assert {name: r["rows_landed"] for name, r in landed.items()} == manifest["row_counts"]


def test_the_cli_writes_blocks_in_either_format(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from kam_transforms.cli import main

    monkeypatch.setenv(BLOCK_ENV, "100")
    out = tmp_path / "x"
    argv = ["demo-data", "--out", str(out), "--customers", "150", "--seed", "3",
            "--as-of", "2026-10-31", "--format", "parquet"]
    assert main(argv) == 0
    assert pq.ParquetFile(out / "erp" / "customers.parquet").metadata.num_row_groups == 2
    assert not list(out.rglob("*.csv"))
    monkeypatch.setenv(BLOCK_ENV, "ten")
    assert main([*argv[:-1], "csv"]) == 1
    assert "KAM_DEMO_BLOCK_CUSTOMERS must be a whole number of customers, got 'ten'" in (
        capsys.readouterr().err
    )


def test_fixed_width_ids_are_the_padded_ones() -> None:
    import numpy as np

    from kam_transforms.demo_world import _ids, _ids_padded

    rng = np.random.default_rng(5)
    for width in (3, 7, 10):
        index = np.concatenate([[0, 10**width - 2], rng.integers(0, 10**width - 1, 500)])
        for valid in (None, rng.random(index.size) < 0.6):
            fast = _ids("OLN-", index, width, valid)
            fast.validate(full=True)
            assert fast.equals(_ids_padded("OLN-", index + 1, width, valid))
    assert _ids("OWN-", np.array([0, 998, 999]), 3).to_pylist() == [
        "OWN-001", "OWN-999", "OWN-1000",  # past the width: padded path, no truncation
    ]
    assert _ids("X-", np.array([1, 2]), 2, np.array([False, True])).to_pylist() == [None, "X-03"]


def test_csv_rendering_is_what_pandas_wrote(tmp_path: Path) -> None:
    """The Arrow renderer against the pandas path it replaced (``to_csv`` of the frame with
    ISO timestamps and true/false), on edge values: nulls, NaN, tiny and huge floats, commas,
    quotes and line breaks, pre-1970 and sliced timestamps."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from kam_transforms.demo_write import render_csv

    secs = np.array([0, -86_401, 1_790_000_000, 951_782_400, 4_102_444_799, 86_399])
    cols = {
        "at": pa.array(secs, type=pa.timestamp("s", tz="UTC"), mask=secs == 86_399),
        "day": pa.array((secs // 86_400).astype(np.int32), type=pa.date32()),
        "x": pa.array([100.0, 1e-05, np.nan, 0.1 + 0.2, -0.0, 1.5e16]),
        "n": pa.array([1, -2, 3, 40, 5, 6]),
        "gap": pa.array([1, None, 3, 4, 5, None]),
        "ok": pa.array([True, False, None, True, True, False]),
        "s": pa.array(['Co., Ltd.', 'say "hi"', None, "a\nb", "上海有限公司", ""]),
    }
    table = {
        c: (pc.strftime(a, format="%Y-%m-%dT%H:%M:%SZ") if c == "at"
            else a.cast(pa.string()) if c == "day"
            else pc.if_else(a, "true", "false") if c == "ok" else a)
        for c, a in cols.items()
    }  # fmt: skip
    path = tmp_path / "pandas.csv"
    pa.table(table).to_pandas().to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
    header, body = path.read_bytes().split(b"\n", 1)
    assert render_csv(cols) == body
    assert b'"Co., Ltd."' in body and b'"say ""hi"""' in body and b",100.0," in body
    assert header == b"at,day,x,n,gap,ok,s"
    # chunks of a column (Arrow slices, with offsets) render to the same bytes
    head, tail = ({c: a.slice(i, 3) for c, a in cols.items()} for i in (0, 3))
    assert render_csv(head) + render_csv(tail) == body


def test_floats_render_as_python_repr() -> None:
    import numpy as np
    import pyarrow as pa

    from kam_transforms.demo_write import _float_text

    rng = np.random.default_rng(11)
    x = np.concatenate([
        rng.lognormal(0, 7, 100_000), -np.round(rng.lognormal(5, 3, 50_000), 2),
        np.round(rng.random(50_000), 3), rng.random(1_000) * 1e-4,
        [0.0, -0.0, 1e-4, 9.99e-5, 1e15, 1e16, 9999999999999998.0, 1.5, np.inf, -np.inf],
    ])  # fmt: skip
    got = _float_text(pa.array(x)).to_pylist()
    assert got == [repr(float(v)) for v in x]
    assert _float_text(pa.array([1.0, None, np.nan, 2.5])).to_pylist() == ["1.0", None, None, "2.5"]
