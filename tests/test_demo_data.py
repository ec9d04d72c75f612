"""Tests of the demo data generator: determinism, time travel, integrity and scenarios."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from kam_transforms.demo_data import CANONICAL_COLUMNS, SCENARIO_NAMES, generate

ANCHOR = date(2026, 10, 31)
EARLIER = date(2026, 8, 31)
CUSTOMERS = 150
SEED = 7
CJK = re.compile(r"[\u4e00-\u9fff]")


def _load(root: Path) -> dict[str, pd.DataFrame]:
    frames = {}
    for name in CANONICAL_COLUMNS:
        frames[name] = pd.read_csv(
            root / f"{name}.csv", dtype=str, keep_default_na=False, encoding="utf-8"
        )
    return frames


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("demo_anchor")
    manifest = generate(root, CUSTOMERS, SEED, ANCHOR)
    return root, manifest


@pytest.fixture(scope="module")
def frames(export: tuple[Path, dict]) -> dict[str, pd.DataFrame]:
    return _load(export[0])


@pytest.fixture(scope="module")
def earlier(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    root = tmp_path_factory.mktemp("demo_earlier")
    generate(root, CUSTOMERS, SEED, EARLIER, anchor=ANCHOR)
    return _load(root)


def _ts(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s.replace("", None), utc=True, format="ISO8601")


def _day(d: date) -> pd.Timestamp:
    return pd.Timestamp(d, tz="UTC")


def _lines_base(f: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Order lines of non-cancelled orders with revenue and margin in USD."""
    orders = f["erp/orders"][f["erp/orders"]["status"] != "cancelled"]
    lines = f["erp/order_lines"].merge(orders, on="order_id")
    fx = f["erp/fx_rates"].rename(columns={"rate_date": "order_date"})
    lines = lines.merge(fx, on=["currency", "order_date"], how="left")
    assert lines["rate_to_base"].ne("").all()
    qty = lines["quantity"].astype(float)
    price = lines["unit_price"].astype(float) * (1 - lines["discount_pct"].astype(float))
    rate = lines["rate_to_base"].astype(float)
    lines["revenue"] = qty * price * rate
    lines["margin"] = qty * (price - lines["unit_cost"].astype(float)) * rate
    lines["order_day"] = pd.to_datetime(lines["order_date"]).dt.date
    return lines


def _window(lines: pd.DataFrame, end: date, days: int, measure: str) -> pd.Series:
    start = end - timedelta(days=days)
    sel = (lines["order_day"] > start) & (lines["order_day"] <= end)
    return lines[sel].groupby("customer_id")[measure].sum()


@pytest.fixture(scope="module")
def lines(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return _lines_base(frames)


def _key_accounts(lines: pd.DataFrame, share: float = 0.2) -> set[str]:
    margin = _window(lines, ANCHOR, 365, "margin").sort_values(ascending=False)
    return set(margin.index[: max(1, round(share * CUSTOMERS))])


def _scenario(export: tuple[Path, dict], name: str) -> dict:
    return export[1]["scenarios"][name]


# --------------------------------------------------------------------------- files


def test_all_canonical_columns_present(frames: dict[str, pd.DataFrame]) -> None:
    from kam_transforms.entities import ENTITIES

    for ent in ENTITIES:
        cols = list(frames[ent.qualified_name].columns)
        assert cols[: len(ent.columns)] == list(ent.columns), ent.qualified_name
        assert cols == list(CANONICAL_COLUMNS[ent.qualified_name])
    assert "owner_assigned_at" in frames["crm/accounts"].columns
    for name, frame in frames.items():
        assert len(frame) > 0, name


def test_manifest_matches_files(export: tuple[Path, dict], frames: dict) -> None:
    root, manifest = export
    on_disk = json.loads((root / "scenarios.json").read_text(encoding="utf-8"))
    assert on_disk == manifest
    assert manifest["base_currency"] == "USD" and manifest["seed"] == SEED
    for name, frame in frames.items():
        assert manifest["row_counts"][name] == len(frame)
    assert set(manifest["scenarios"]) == set(SCENARIO_NAMES)
    accounts = set(frames["crm/accounts"]["account_id"])
    owners = frames["crm/owners"].set_index("owner_id")
    planted = [s["account_id"] for s in manifest["scenarios"].values()]
    assert len(set(planted)) == len(planted)
    for s in manifest["scenarios"].values():
        assert s["account_id"] in accounts
        assert owners.loc[s["owner_id"], "email"] == s["owner_email"]


def test_sizes_and_formats(frames: dict[str, pd.DataFrame]) -> None:
    orders_per_customer = len(frames["erp/orders"]) / CUSTOMERS
    assert 10 <= orders_per_customer <= 40
    per_order = frames["erp/order_lines"].groupby("order_id").size()
    assert per_order.between(1, 5).all()
    assert 10 <= len(frames["crm/owners"]) <= 20
    assert set(frames["erp/fx_rates"]["currency"]) == {"USD", "EUR", "CNY", "GBP", "JPY"}
    assert frames["erp/orders"]["order_date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert frames["crm/activities"]["occurred_at"].str.fullmatch(
        r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z"
    ).all()
    assert set(frames["crm/accounts"]["is_deleted"]) <= {"true", "false"}
    assert set(frames["erp/orders"]["status"]) == {"confirmed", "delivered", "cancelled"}
    assert set(frames["erp/invoices"]["status"]) <= {"open", "partially_paid", "overdue", "paid"}
    assert set(frames["crm/tickets"]["priority"]) == {"low", "medium", "high", "urgent"}
    assert set(frames["crm/activities"]["activity_type"]) == {
        "meeting", "call", "email", "visit", "event",
    }  # fmt: skip
    disc = frames["erp/order_lines"]["discount_pct"].astype(float)
    assert disc.between(0, 0.5).all()
    fx = frames["erp/fx_rates"]
    days = fx.groupby("currency")["rate_date"].agg(["min", "max", "count"])
    assert (days["max"] == ANCHOR.isoformat()).all()
    assert (days["min"] <= (ANCHOR - timedelta(days=3 * 365)).isoformat()).all()
    owners = frames["crm/owners"]
    assert set(owners["locale"]) == {"en", "zh-CN"}
    assert 1 <= (owners["is_active"] == "false").sum() <= 2


def test_chinese_names_survive_utf8_round_trip(export: tuple[Path, dict]) -> None:
    root = export[0]
    raw = (root / "crm/accounts.csv").read_bytes()
    text = raw.decode("utf-8")  # strict
    accounts = pd.read_csv(root / "crm/accounts.csv", dtype=str, encoding="utf-8")
    chinese = accounts[accounts["account_name"].str.contains(CJK)]
    assert len(chinese) >= 5
    for name in chinese["account_name"]:
        assert name in text
        assert name.endswith("公司")
    assert accounts["account_name"].str.fullmatch(r"[A-Za-z].*").sum() >= 50
    owners = pd.read_csv(root / "crm/owners.csv", dtype=str, encoding="utf-8")
    zh = owners[owners["locale"] == "zh-CN"]
    assert len(zh) >= 3 and zh["full_name"].str.contains(CJK).all()
    assert not owners.loc[owners["locale"] == "en", "full_name"].str.contains(CJK).any()


def test_bad_arguments_raise(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="after anchor"):
        generate(tmp_path, CUSTOMERS, SEED, ANCHOR, anchor=EARLIER)
    with pytest.raises(ValueError, match="fmt"):
        generate(tmp_path, CUSTOMERS, SEED, ANCHOR, fmt="xlsx")
    with pytest.raises(ValueError, match="customers"):
        generate(tmp_path, 5, SEED, ANCHOR)


# --------------------------------------------------------------------------- determinism


def test_deterministic_byte_identical(tmp_path: Path, export: tuple[Path, dict]) -> None:
    generate(tmp_path, CUSTOMERS, SEED, ANCHOR)
    files = sorted(p.relative_to(export[0]) for p in export[0].rglob("*") if p.is_file())
    assert len(files) == 17  # 16 entities (owner directory, account plans) + scenarios.json
    for rel in files:
        assert (tmp_path / rel).read_bytes() == (export[0] / rel).read_bytes(), rel


def test_other_seed_gives_other_world(tmp_path: Path, export: tuple[Path, dict]) -> None:
    generate(tmp_path, CUSTOMERS, SEED + 1, ANCHOR)
    rel = Path("erp/orders.csv")
    assert (tmp_path / rel).read_bytes() != (export[0] / rel).read_bytes()


def test_parquet_matches_csv(tmp_path: Path, export: tuple[Path, dict]) -> None:
    manifest = generate(tmp_path, CUSTOMERS, SEED, ANCHOR, fmt="parquet")
    assert manifest["row_counts"] == export[1]["row_counts"]
    assert manifest["scenarios"] == export[1]["scenarios"]
    orders = pd.read_parquet(tmp_path / "erp/orders.parquet")
    assert list(orders.columns) == list(CANONICAL_COLUMNS["erp/orders"])
    assert str(orders["updated_at"].dt.tz) == "UTC"
    accounts = pd.read_parquet(tmp_path / "crm/accounts.parquet")
    assert accounts["is_deleted"].dtype == bool
    assert accounts["parent_account_id"].isna().sum() > 0
    assert not list(tmp_path.rglob("*.csv"))
    again = tmp_path / "again"
    generate(again, CUSTOMERS, SEED, ANCHOR, fmt="parquet")
    for path in sorted(tmp_path.glob("*/*.parquet")):
        assert (again / path.relative_to(tmp_path)).read_bytes() == path.read_bytes(), path


# --------------------------------------------------------------------------- time travel


_TIME_COLUMNS = {
    "crm/activities": "occurred_at",
    "crm/opportunities": "updated_at",
    "crm/tickets": "opened_at",
    "crm/surveys": "responded_at",
    "crm/accounts": "updated_at",
    "crm/contacts": "updated_at",
    "erp/customers": "updated_at",
    "erp/orders": "updated_at",
    "erp/invoices": "updated_at",
    "erp/payments": "paid_at",
}


def test_time_travel_nothing_after_as_of(earlier: dict[str, pd.DataFrame]) -> None:
    limit = _day(EARLIER + timedelta(days=1))
    for name, col in _TIME_COLUMNS.items():
        assert (_ts(earlier[name][col]) < limit).all(), name
    for name, col in [("erp/orders", "order_date"), ("erp/invoices", "invoice_date"),
                      ("erp/fx_rates", "rate_date")]:
        assert (earlier[name][col] <= EARLIER.isoformat()).all(), name
    for col in ("closed_at",):
        closed = _ts(earlier["crm/opportunities"][col]).dropna()
        assert (closed < limit).all()
    resolved = _ts(earlier["crm/tickets"]["resolved_at"]).dropna()
    assert (resolved < limit).all()


def test_time_travel_is_a_consistent_subset(
    frames: dict[str, pd.DataFrame], earlier: dict[str, pd.DataFrame]
) -> None:
    keys = {
        "crm/accounts": "account_id", "crm/contacts": "contact_id",
        "crm/activities": "activity_id", "crm/opportunities": "opportunity_id",
        "crm/tickets": "ticket_id", "crm/surveys": "response_id",
        "erp/customers": "customer_id", "erp/orders": "order_id",
        "erp/order_lines": "order_line_id", "erp/invoices": "invoice_id",
        "erp/payments": "payment_id", "crm/owners": "owner_id", "erp/products": "product_id",
    }  # fmt: skip
    for name, key in keys.items():
        assert set(earlier[name][key]) <= set(frames[name][key]), name
    assert len(earlier["erp/orders"]) < len(frames["erp/orders"])
    # older rows are the same rows: immutable facts agree
    late = frames["erp/orders"]
    old_in_late = late[late["order_date"] <= EARLIER.isoformat()]
    assert set(old_in_late["order_id"]) == set(earlier["erp/orders"]["order_id"])
    cols = ["order_id", "customer_id", "order_date", "currency"]
    pd.testing.assert_frame_equal(
        earlier["erp/orders"][cols].reset_index(drop=True),
        old_in_late[cols].reset_index(drop=True),
    )
    el = earlier["erp/order_lines"]
    ll = frames["erp/order_lines"].set_index("order_line_id").loc[el["order_line_id"]]
    assert (ll["quantity"].to_numpy() == el["quantity"].to_numpy()).all()
    assert (ll["unit_price"].to_numpy() == el["unit_price"].to_numpy()).all()
    pays = frames["erp/payments"]
    old_pays = pays[_ts(pays["paid_at"]) < _day(EARLIER + timedelta(days=1))]
    assert set(old_pays["payment_id"]) == set(earlier["erp/payments"]["payment_id"])


def test_backfill_month_ends_share_one_history(tmp_path: Path) -> None:
    """Three successive month-ends with one anchor: nested rows, states only move forward."""
    ends = [date(2026, 8, 31), date(2026, 9, 30), ANCHOR]
    runs = []
    for d in ends:
        generate(tmp_path / d.isoformat(), CUSTOMERS, SEED, d, anchor=ANCHOR)
        runs.append(_load(tmp_path / d.isoformat()))
    order = {"open": 0, "partially_paid": 1, "overdue": 1, "paid": 2}
    for before, after in zip(runs, runs[1:], strict=False):
        for name, key in [("erp/orders", "order_id"), ("erp/invoices", "invoice_id"),
                          ("erp/payments", "payment_id"), ("crm/activities", "activity_id"),
                          ("crm/opportunities", "opportunity_id")]:
            assert set(before[name][key]) < set(after[name][key]), name
        b = before["erp/invoices"].set_index("invoice_id")["status"].map(order)
        a = after["erp/invoices"].set_index("invoice_id")["status"].map(order).loc[b.index]
        assert (a >= b).all()
        bo = before["crm/opportunities"].set_index("opportunity_id")
        ao = after["crm/opportunities"].set_index("opportunity_id").loc[bo.index]
        was_closed = bo["closed_at"] != ""
        assert (ao.loc[was_closed, "closed_at"] == bo.loc[was_closed, "closed_at"]).all()
        assert (ao.loc[was_closed, "is_won"] == bo.loc[was_closed, "is_won"]).all()
        bc = before["crm/contacts"].set_index("contact_id")["is_active"]
        ac = after["crm/contacts"].set_index("contact_id")["is_active"].loc[bc.index]
        assert not ((bc == "false") & (ac == "true")).any()


def test_time_travel_states_reflect_as_of(
    export: tuple[Path, dict],
    frames: dict[str, pd.DataFrame],
    earlier: dict[str, pd.DataFrame],
) -> None:
    limit = _day(EARLIER + timedelta(days=1))
    # invoices paid only after the earlier date are not paid then
    pays = frames["erp/payments"].assign(paid=lambda d: _ts(d["paid_at"]))
    last_pay = pays.groupby("invoice_id")["paid"].max()
    later_paid = set(last_pay[last_pay >= limit].index)
    inv = earlier["erp/invoices"].set_index("invoice_id")
    both = sorted(later_paid & set(inv.index))
    assert both and (inv.loc[both, "status"] != "paid").all()
    # opportunities closed later are open then
    opp = frames["crm/opportunities"]
    closed_later = opp[_ts(opp["closed_at"]) >= limit]
    e_opp = earlier["crm/opportunities"].set_index("opportunity_id")
    ids = sorted(set(closed_later["opportunity_id"]) & set(e_opp.index))
    assert ids
    assert (e_opp.loc[ids, "closed_at"] == "").all()
    assert (e_opp.loc[ids, "is_won"] == "false").all()
    assert not e_opp.loc[ids, "stage"].str.startswith("closed").any()
    # the planted owner change and contact departure have not happened yet
    amc = _scenario(export, "account_manager_change")["account_id"]
    e_acc = earlier["crm/accounts"].set_index("account_id")
    l_acc = frames["crm/accounts"].set_index("account_id")
    assert e_acc.loc[amc, "owner_id"] != l_acc.loc[amc, "owner_id"]
    assert _ts(pd.Series([e_acc.loc[amc, "owner_assigned_at"]]))[0] < limit
    kcl = _scenario(export, "key_contact_left")["account_id"]
    e_con = earlier["crm/contacts"]
    assert (e_con.loc[e_con["account_id"] == kcl, "is_active"] == "true").all()
    # tickets resolved later are unresolved then
    tic = frames["crm/tickets"]
    resolved_later = tic[_ts(tic["resolved_at"]) >= limit]["ticket_id"]
    e_tic = earlier["crm/tickets"].set_index("ticket_id")
    ids = sorted(set(resolved_later) & set(e_tic.index))
    assert ids and (e_tic.loc[ids, "resolved_at"] == "").all()
    assert e_tic.loc[ids, "status"].isin(["open", "in_progress"]).all()


# --------------------------------------------------------------------------- integrity


def test_referential_integrity(frames: dict[str, pd.DataFrame]) -> None:
    f = frames
    customers = set(f["erp/customers"]["customer_id"])
    accounts = f["crm/accounts"]
    account_ids = set(accounts["account_id"])
    contacts = set(f["crm/contacts"]["contact_id"])
    owners = set(f["crm/owners"]["owner_id"])
    assert f["erp/orders"]["customer_id"].isin(customers).all()
    assert f["erp/order_lines"]["order_id"].isin(set(f["erp/orders"]["order_id"])).all()
    assert f["erp/order_lines"]["product_id"].isin(set(f["erp/products"]["product_id"])).all()
    assert f["erp/invoices"]["order_id"].isin(set(f["erp/orders"]["order_id"])).all()
    assert f["erp/invoices"]["customer_id"].isin(customers).all()
    assert f["erp/payments"]["invoice_id"].isin(set(f["erp/invoices"]["invoice_id"])).all()
    assert accounts["owner_id"].isin(owners).all()
    assert f["crm/activities"]["owner_id"].isin(owners).all()
    for name in ("crm/contacts", "crm/activities", "crm/opportunities", "crm/tickets",
                 "crm/surveys"):
        assert f[name]["account_id"].isin(account_ids).all(), name
    assert f["crm/surveys"]["contact_id"].isin(contacts).all()
    parents = accounts.loc[accounts["parent_account_id"] != "", "parent_account_id"]
    assert len(parents) > 0 and parents.isin(account_ids).all()
    # every ERP customer maps to exactly one CRM account; some accounts are prospects
    linked = accounts.loc[accounts["erp_customer_id"] != "", "erp_customer_id"]
    assert linked.is_unique and set(linked) == customers
    assert (accounts["erp_customer_id"] == "").sum() >= 5
    # keys are unique, every order has lines, payments never exceed invoices
    for name, key in [("erp/orders", "order_id"), ("erp/order_lines", "order_line_id"),
                      ("crm/activities", "activity_id"), ("erp/invoices", "invoice_id")]:
        assert f[name][key].is_unique, name
    assert set(f["erp/order_lines"]["order_id"]) == set(f["erp/orders"]["order_id"])
    paid = f["erp/payments"].assign(a=lambda d: d["amount"].astype(float))
    paid_sum = paid.groupby("invoice_id")["a"].sum()
    inv = f["erp/invoices"].set_index("invoice_id")["amount"].astype(float)
    assert (paid_sum <= inv.loc[paid_sum.index] + 0.01).all()
    fx = f["erp/fx_rates"]
    assert not fx.duplicated(["currency", "rate_date"]).any()


def test_realistic_variety(frames: dict[str, pd.DataFrame]) -> None:
    f = frames
    inv = f["erp/invoices"]
    assert {"paid", "overdue"} <= set(inv["status"])
    assert (f["erp/orders"]["status"] == "cancelled").mean() < 0.05
    pays = f["erp/payments"].merge(inv[["invoice_id", "due_date"]], on="invoice_id")
    late = _ts(pays["paid_at"]) > pd.to_datetime(pays["due_date"]).dt.tz_localize("UTC")
    assert 0.05 < late.mean() < 0.6
    assert pays["invoice_id"].duplicated().any()  # some invoices are paid in parts
    opp = f["crm/opportunities"]
    assert {"closed_won", "closed_lost"} <= set(opp["stage"])
    assert (opp["stage"].isin(["qualification", "needs_analysis", "proposal", "negotiation"])).any()
    lost = opp[opp["stage"] == "closed_lost"]
    assert (lost["lost_reason"] != "").all() and (lost["competitor"] != "").any()
    # won deals may name the competitor they beat; open ones name none yet
    assert (opp.loc[~opp["stage"].isin(["closed_lost", "closed_won"]), "competitor"] == "").all()
    assert (opp.loc[opp["stage"] == "closed_won", "competitor"] != "").any()
    tic = f["crm/tickets"]
    assert set(tic["category"]) == {"complaint", "request", "incident"}
    assert {"resolved", "closed"} <= set(tic["status"])
    sv = f["crm/surveys"]
    nps = sv.loc[sv["survey_type"] == "nps", "score"].astype(int)
    csat = sv.loc[sv["survey_type"] == "csat", "score"].astype(int)
    assert nps.between(0, 10).all() and csat.between(1, 5).all()
    con = f["crm/contacts"]
    dm = con[con["is_decision_maker"] == "true"]
    assert set(dm["account_id"]) == set(con["account_id"])
    assert len(set(f["crm/accounts"]["region"])) >= 4
    assert len(set(f["crm/accounts"]["industry"])) >= 6
    assert len(set(f["erp/products"]["category"])) >= 5
    cur = f["erp/customers"]["currency"].value_counts()
    assert set(cur.index) == {"USD", "EUR", "CNY", "GBP", "JPY"}


def test_pareto_skew(lines: pd.DataFrame) -> None:
    margin = _window(lines, ANCHOR, 365, "margin").sort_values(ascending=False)
    margin = margin.reindex(margin.index).fillna(0)
    top = margin.iloc[: round(0.2 * CUSTOMERS)].sum()
    assert top / margin.sum() >= 0.6
    assert (margin > 0).mean() > 0.7


def test_discounts_and_margins_vary(
    lines: pd.DataFrame, frames: dict[str, pd.DataFrame]
) -> None:
    by_customer = lines.groupby("customer_id")["discount_pct"].apply(
        lambda s: s.astype(float).mean()
    )
    assert by_customer.std() > 0.02
    with_category = lines.merge(frames["erp/products"][["product_id", "category"]], on="product_id")
    by_category = with_category.groupby("category")[["margin", "revenue"]].sum()
    category_rate = by_category["margin"] / by_category["revenue"]
    assert category_rate.max() - category_rate.min() > 0.2
    rate = lines["margin"].sum() / lines["revenue"].sum()
    assert 0.15 < rate < 0.6


# --------------------------------------------------------------------------- scenarios


def test_declining_key_account(
    export: tuple[Path, dict], frames: dict[str, pd.DataFrame], lines: pd.DataFrame
) -> None:
    s = _scenario(export, "declining_key_account")
    cid = s["customer_id"]
    t12 = _window(lines, ANCHOR, 365, "revenue")
    prev = _window(lines, ANCHOR - timedelta(days=365), 365, "revenue")
    assert t12[cid] < 0.5 * prev[cid]
    # clearly class A two years ago, still among the top by 3-year margin
    two_years_ago = _window(lines, ANCHOR - timedelta(days=730), 365, "margin")
    assert cid in set(two_years_ago.sort_values(ascending=False).index[:5])
    three_years = _window(lines, ANCHOR, 3 * 365 + 1, "margin").sort_values(ascending=False)
    assert cid in set(three_years.index[: round(0.1 * CUSTOMERS)])
    # orders slowed well past the usual interval
    days = pd.Series(sorted(set(lines.loc[lines["customer_id"] == cid, "order_day"])))
    gaps = days.diff().dropna().map(lambda d: d.days)
    since_last = (ANCHOR - days.iloc[-1]).days
    assert since_last > 3 * gaps.median() and since_last >= 60
    owner = frames["crm/owners"].set_index("owner_id").loc[s["owner_id"]]
    assert owner["is_active"] == "true" and owner["locale"] == "en"
    assert re.fullmatch(r"[a-z.]+@[a-z.-]+\.[a-z]+", owner["email"])


def test_account_manager_change(
    export: tuple[Path, dict], frames: dict[str, pd.DataFrame], lines: pd.DataFrame
) -> None:
    s = _scenario(export, "account_manager_change")
    acc = frames["crm/accounts"].set_index("account_id").loc[s["account_id"]]
    assigned = _ts(pd.Series([acc["owner_assigned_at"]]))[0]
    created = _ts(pd.Series([acc["created_at"]]))[0]
    assert _day(ANCHOR - timedelta(days=60)) <= assigned <= _day(ANCHOR - timedelta(days=30))
    assert created < _day(ANCHOR - timedelta(days=2 * 365))
    assert acc["owner_id"] == s["owner_id"]
    assert s["customer_id"] in _key_accounts(lines)
    acts = frames["crm/activities"]
    acts = acts[acts["account_id"] == s["account_id"]]
    before = acts[_ts(acts["occurred_at"]) < assigned - pd.Timedelta(days=1)]
    assert len(before) > 0 and (before["owner_id"] != s["owner_id"]).all()


def test_key_contact_left(
    export: tuple[Path, dict], frames: dict[str, pd.DataFrame], lines: pd.DataFrame
) -> None:
    s = _scenario(export, "key_contact_left")
    con = frames["crm/contacts"]
    con = con[con["account_id"] == s["account_id"]]
    gone = con[(con["is_decision_maker"] == "true") & (con["is_active"] == "false")]
    when = _ts(gone["updated_at"])
    recent = when.between(_day(ANCHOR - timedelta(days=60)), _day(ANCHOR - timedelta(days=20)))
    assert recent.any()
    assert (con["is_active"] == "true").any()
    assert s["customer_id"] in _key_accounts(lines)


def test_competitor_loss(export: tuple[Path, dict], frames: dict[str, pd.DataFrame]) -> None:
    s = _scenario(export, "competitor_loss")
    opp = frames["crm/opportunities"]
    opp = opp[opp["account_id"] == s["account_id"]]
    lost = opp[(opp["stage"] == "closed_lost") & (opp["competitor"] != "")
               & (_ts(opp["closed_at"]) >= _day(ANCHOR - timedelta(days=90)))]
    assert len(lost) >= 1
    assert (lost["is_won"] == "false").all() and (lost["lost_reason"] == "competitor").any()


def test_overdue_invoices(export: tuple[Path, dict], frames: dict[str, pd.DataFrame]) -> None:
    s = _scenario(export, "overdue_invoices")
    inv = frames["erp/invoices"]
    inv = inv[inv["customer_id"] == s["customer_id"]]
    cutoff = (ANCHOR - timedelta(days=60)).isoformat()
    overdue = inv[(inv["status"] == "overdue") & (inv["due_date"] < cutoff)]
    assert len(overdue) >= 3
    assert not frames["erp/payments"]["invoice_id"].isin(set(overdue["invoice_id"])).any()
    fx = frames["erp/fx_rates"]
    rate = fx[(fx["rate_date"] == ANCHOR.isoformat())].set_index("currency")["rate_to_base"]
    usd = (overdue["amount"].astype(float) * overdue["currency"].map(rate).astype(float)).sum()
    assert usd > 50_000
    # ordinary customers rarely have that much long overdue
    all_inv = frames["erp/invoices"]
    long_overdue = all_inv[(all_inv["status"] == "overdue") & (all_inv["due_date"] < cutoff)]
    per_customer = long_overdue.groupby("customer_id").size()
    assert (per_customer >= 3).sum() <= 3


def test_unresolved_complaint(export: tuple[Path, dict], frames: dict[str, pd.DataFrame]) -> None:
    s = _scenario(export, "unresolved_complaint")
    tic = frames["crm/tickets"]
    old_open = (
        (tic["category"] == "complaint")
        & tic["priority"].isin(["high", "urgent"])
        & tic["status"].isin(["open", "in_progress"])
        & (tic["resolved_at"] == "")
        & (_ts(tic["opened_at"]) < _day(ANCHOR - timedelta(days=30)))
    )
    assert set(tic.loc[old_open, "account_id"]) == {s["account_id"]}


def test_no_recent_touchpoint(
    export: tuple[Path, dict], frames: dict[str, pd.DataFrame], lines: pd.DataFrame
) -> None:
    s = _scenario(export, "no_recent_touchpoint")
    acts = frames["crm/activities"]
    last = _ts(acts["occurred_at"]).groupby(acts["account_id"]).max()
    quiet = set(last[last < _day(ANCHOR - timedelta(days=120))].index)
    assert s["account_id"] in quiet
    assert (acts["account_id"] == s["account_id"]).sum() > 5
    key = _key_accounts(lines)
    accounts = frames["crm/accounts"]
    key_accounts = set(accounts.loc[accounts["erp_customer_id"].isin(key), "account_id"])
    assert quiet & key_accounts == {s["account_id"]}


def test_fast_growing_potential(
    export: tuple[Path, dict], frames: dict[str, pd.DataFrame], lines: pd.DataFrame
) -> None:
    s = _scenario(export, "fast_growing_potential")
    cid = s["customer_id"]
    t12 = _window(lines, ANCHOR, 365, "revenue")
    prev = _window(lines, ANCHOR - timedelta(days=365), 365, "revenue")
    assert prev[cid] > 0 and t12[cid] > 2 * prev[cid]
    ranks = prev.rank(pct=True)
    assert 0.2 < ranks[cid] < 0.9  # mid-sized before it grew
    opp = frames["crm/opportunities"]
    open_ = opp[opp["closed_at"] == ""].copy()
    fx = frames["erp/fx_rates"]
    rate = fx[fx["rate_date"] == ANCHOR.isoformat()].set_index("currency")["rate_to_base"]
    open_["weighted"] = (
        open_["amount"].astype(float) * open_["probability"].astype(float)
        * open_["currency"].map(rate).astype(float)
    )
    pipeline = open_.groupby("account_id")["weighted"].sum()
    assert pipeline[s["account_id"]] >= t12[cid]
    assert pipeline.rank(pct=True)[s["account_id"]] >= 0.9


def test_zh_owner_key_account(
    export: tuple[Path, dict], frames: dict[str, pd.DataFrame], lines: pd.DataFrame
) -> None:
    s = _scenario(export, "zh_owner_key_account")
    owner = frames["crm/owners"].set_index("owner_id").loc[s["owner_id"]]
    assert owner["locale"] == "zh-CN" and CJK.search(owner["full_name"])
    assert owner["is_active"] == "true"
    assert s["customer_id"] in _key_accounts(lines, 0.1)


def test_inactive_owner_account(export: tuple[Path, dict], frames: dict[str, pd.DataFrame]) -> None:
    s = _scenario(export, "inactive_owner_account")
    acc = frames["crm/accounts"].set_index("account_id").loc[s["account_id"]]
    owners = frames["crm/owners"].set_index("owner_id")
    assert owners.loc[acc["owner_id"], "is_active"] == "false"
    assert acc["erp_customer_id"] == s["customer_id"]
    # other accounts of deactivated owners were handed over
    inactive = set(owners.index[owners["is_active"] == "false"])
    on_inactive = frames["crm/accounts"][frames["crm/accounts"]["owner_id"].isin(inactive)]
    assert set(on_inactive["account_id"]) == {s["account_id"]}


def test_churned(export: tuple[Path, dict], frames: dict[str, pd.DataFrame]) -> None:
    s = _scenario(export, "churned")
    orders = frames["erp/orders"]
    mine = orders[orders["customer_id"] == s["customer_id"]]
    assert len(mine) >= 5
    assert mine["order_date"].max() < (ANCHOR - timedelta(days=365)).isoformat()


def test_prospect(export: tuple[Path, dict], frames: dict[str, pd.DataFrame]) -> None:
    s = _scenario(export, "prospect")
    assert s["customer_id"] is None
    acc = frames["crm/accounts"].set_index("account_id").loc[s["account_id"]]
    assert acc["erp_customer_id"] == "" and acc["is_deleted"] == "false"
    opp = frames["crm/opportunities"]
    assert ((opp["account_id"] == s["account_id"]) & (opp["closed_at"] == "")).any()


def test_ordinary_customers_keep_their_cadence(
    export: tuple[Path, dict], lines: pd.DataFrame, frames: dict[str, pd.DataFrame]
) -> None:
    planted = {s["customer_id"] for s in export[1]["scenarios"].values()}
    first = lines.groupby("customer_id")["order_day"].min()
    established = set(first[first <= ANCHOR - timedelta(days=730)].index) - planted
    t12 = _window(lines, ANCHOR, 365, "revenue").reindex(sorted(established)).fillna(0)
    prev = _window(lines, ANCHOR - timedelta(days=365), 365, "revenue")
    prev = prev.reindex(sorted(established)).fillna(0)
    halved = (t12 < 0.5 * prev).mean()
    doubled = (t12 > 2 * prev).mean()
    assert halved < 0.1 and doubled < 0.05
