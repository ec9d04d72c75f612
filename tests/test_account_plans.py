"""account_plan_attainment against a pandas recomputation from the landed Parquet, on the
session demo build (tests/dbt_build.py), and the demo generator's plans.

The recomputation reads the landed CRM plans and accounts and the ERP orders, lines,
products and fx rates, and redoes in pandas what the mart documents: revenue and margin per
line at the order date's rate, the plan's period to the run date, targets at the rate of the
period start, the seasonal windows one and two years back, the status thresholds. Only the
CLV inputs (the fitted BG/NBD run and the customer's features) and the key-account flag come
from the build: they are other marts, tested against their own recomputations.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from dbt_build import AS_OF, Build

from kam_transforms.clv.bgnbd import BetaGeoParams, conditional_expected_purchases
from kam_transforms.clv.features import unit_length_days
from kam_transforms.demo_data import generate

AT_RISK, BEHIND = 0.05, 0.15  # dbt_project.yml defaults
AS_OF_TS = pd.Timestamp(AS_OF)


def _latest(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    frame = frame.sort_values("_loaded_at").drop_duplicates(key, keep="last")
    if "is_deleted" in frame:
        frame = frame[frame["is_deleted"].fillna("false").str.lower() != "true"]
    return frame.reset_index(drop=True)


def _rate_on(fx: pd.DataFrame, frame: pd.DataFrame, currency: str, on: str) -> pd.Series:
    """The latest rate on or before ``frame[on]`` of ``frame[currency]`` (the first rate for
    earlier dates); 1.0 for USD."""
    left = frame[[currency, on]].reset_index().sort_values(on)
    right = fx.rename(columns={"currency": currency}).sort_values("rate_date")
    merged = pd.merge_asof(
        left, right, left_on=on, right_on="rate_date", by=currency, direction="backward"
    )
    first = fx.sort_values("rate_date").groupby("currency")["rate_to_base"].first()
    merged["rate_to_base"] = merged["rate_to_base"].fillna(merged[currency].map(first))
    merged.loc[merged[currency] == "USD", "rate_to_base"] = 1.0
    return merged.set_index("index")["rate_to_base"].reindex(frame.index)


def known_fx(build: Build) -> pd.DataFrame:
    """The landed fx rates known on AS_OF: currency, rate_date, rate_to_base."""
    fx = build.landed("erp", "fx_rates")
    fx = pd.DataFrame(
        {
            "currency": fx["currency"],
            "rate_date": pd.to_datetime(fx["rate_date"]),
            "rate_to_base": fx["rate_to_base"].astype(float),
        }
    )
    return fx[fx["rate_date"] <= AS_OF_TS].drop_duplicates(["currency", "rate_date"])


def _lines(build: Build) -> pd.DataFrame:
    fx = known_fx(build)
    orders = _latest(build.landed("erp", "orders"), "order_id")
    orders["order_date"] = pd.to_datetime(orders["order_date"])
    orders = orders[
        (orders["order_date"] <= AS_OF_TS)
        & ~orders["status"].fillna("").isin(["cancelled", "canceled", "cancel"])
    ]
    lines = _latest(build.landed("erp", "order_lines"), "order_line_id")
    products = _latest(build.landed("erp", "products"), "product_id")
    lines = lines.merge(
        orders[["order_id", "customer_id", "order_date", "currency"]], on="order_id"
    )
    lines = lines.merge(
        products[["product_id", "unit_cost", "currency"]].rename(
            columns={"unit_cost": "product_cost", "currency": "product_currency"}
        ),
        on="product_id",
        how="left",
    )
    qty = lines["quantity"].astype(float)
    net = qty * lines["unit_price"].astype(float) * (1 - lines["discount_pct"].astype(float))
    own_cost = lines["unit_cost"].notna()
    cost = lines["unit_cost"].where(own_cost, lines["product_cost"]).astype(float)
    lines["cost_currency"] = lines["currency"].where(own_cost, lines["product_currency"])
    price_rate = _rate_on(fx, lines, "currency", "order_date")
    cost_rate = _rate_on(fx, lines, "cost_currency", "order_date")
    lines["revenue_base"] = net * price_rate
    lines["margin_base"] = net * price_rate - qty * cost * cost_rate
    return lines[["customer_id", "order_date", "revenue_base", "margin_base"]], fx


def _window_sum(
    lines: pd.DataFrame, plans: pd.DataFrame, start: str, end: str, col: str
) -> pd.Series:
    joined = plans[["plan_id", "customer_id", start, end]].merge(lines, on="customer_id")
    inside = (joined["order_date"] >= joined[start]) & (joined["order_date"] <= joined[end])
    return joined[inside].groupby("plan_id")[col].sum().reindex(plans["plan_id"]).fillna(0.0)


def recompute(build: Build) -> pd.DataFrame:
    lines, fx = _lines(build)
    plans = _latest(build.landed("crm", "account_plans"), "plan_id")
    accounts = _latest(build.landed("crm", "accounts"), "account_id")
    plans = plans.merge(
        accounts[["account_id", "erp_customer_id"]].rename(
            columns={"erp_customer_id": "customer_id"}
        ),
        on="account_id",
        how="left",
    )
    for col in ("period_start", "period_end"):
        plans[col] = pd.to_datetime(plans[col])
    plans["measured_to"] = plans["period_end"].clip(upper=AS_OF_TS)
    plans["fx_on"] = plans["period_start"].clip(upper=AS_OF_TS)
    plans["period_days"] = (plans["period_end"] - plans["period_start"]).dt.days + 1
    plans["elapsed_days"] = (
        ((plans["measured_to"] - plans["period_start"]).dt.days + 1).clip(lower=0)
    ).clip(upper=plans["period_days"])
    plans["remaining_days"] = plans["period_days"] - plans["elapsed_days"]
    rate = _rate_on(fx, plans, "currency", "fx_on")
    plans["revenue_target_base"] = plans["revenue_target"].astype(float) * rate
    plans["margin_target_base"] = plans["margin_target"].astype(float) * rate
    plans = plans.set_index("plan_id", drop=False)
    plans["revenue_to_date_base"] = _window_sum(
        lines, plans, "period_start", "measured_to", "revenue_base"
    )
    plans["margin_to_date_base"] = _window_sum(
        lines, plans, "period_start", "measured_to", "margin_base"
    )

    elapsed_hist = pd.Series(0.0, index=plans.index)
    period_hist = pd.Series(0.0, index=plans.index)
    for years in (1, 2):
        back = pd.DateOffset(years=years)
        shifted = plans.assign(
            ws=plans["period_start"] - back,
            we=plans["measured_to"] - back,
            pe=plans["period_end"] - back,
        )
        elapsed_hist += _window_sum(lines, shifted, "ws", "we", "revenue_base")
        period_hist += _window_sum(lines, shifted, "ws", "pe", "revenue_base")
    first_order = lines.groupby("customer_id")["order_date"].min()
    two_years = plans["customer_id"].map(first_order) <= plans["period_start"] - pd.DateOffset(
        years=2
    )
    seasonal = (
        two_years.fillna(False)
        & (period_hist > 0)
        & (plans["elapsed_days"] > 0)
        & (plans["remaining_days"] > 0)
    )
    plans["pace_method"] = np.where(seasonal, "seasonal", "linear")
    plans["expected_attainment_share"] = np.where(
        seasonal,
        elapsed_hist / period_hist.where(period_hist > 0, 1.0),
        plans["elapsed_days"] / plans["period_days"],
    )
    rev_share = plans["revenue_to_date_base"] / plans["revenue_target_base"].where(
        plans["revenue_target_base"] > 0
    )
    mar_share = plans["margin_to_date_base"] / plans["margin_target_base"].where(
        plans["margin_target_base"] > 0
    )
    plans["revenue_attainment_share"] = rev_share
    plans["margin_attainment_share"] = mar_share
    plans["pace_gap"] = rev_share.fillna(mar_share) - plans["expected_attainment_share"]
    gap = plans["pace_gap"]
    plans["attainment_status"] = np.select(
        [plans["elapsed_days"] == 0, gap.isna(), gap >= -AT_RISK, gap >= -BEHIND],
        ["not_started", "no_target", "on_track", "at_risk"],
        "behind",
    )

    # forecast: the CLV run's expected purchases over the remaining days
    clv = build.query("select * from customer_clv").set_index("customer_id")
    run = (
        build.query("select * from clv_model_runs")
        .set_index("model_run_id")
        .loc[clv["model_run_id"].iloc[0]]
    )
    params = BetaGeoParams(*(float(run[f"bgnbd_{p}"]) for p in ("r", "alpha", "a", "b")))
    unit = unit_length_days(str(run["time_unit"]))
    rest = pd.Series(np.nan, index=plans.index)
    for pid, row in plans.iterrows():
        c = row["customer_id"]
        if c in clv.index and pd.notna(clv.at[c, "expected_purchases"]):
            purchases = 0.0
            if row["remaining_days"] > 0:
                purchases = float(
                    conditional_expected_purchases(
                        params,
                        row["remaining_days"] / unit,
                        np.array([clv.at[c, "frequency"]], dtype=float),
                        np.array([clv.at[c, "recency"]], dtype=float),
                        np.array([clv.at[c, "customer_age"]], dtype=float),
                    )[0]
                )
            rest[pid] = purchases * clv.at[c, "expected_avg_margin"]
    plans["forecast_method"] = np.select(
        [plans["remaining_days"] == 0, rest.notna(), plans["elapsed_days"] > 0],
        ["actual", "clv_model", "run_rate"],
        None,
    )
    run_rate = plans["margin_to_date_base"] * plans["period_days"] / plans["elapsed_days"].where(
        plans["elapsed_days"] > 0
    )
    method = plans["forecast_method"]
    plans["forecast_margin_base"] = np.select(
        [method == "actual", method == "clv_model", method == "run_rate"],
        [plans["margin_to_date_base"], plans["margin_to_date_base"] + rest, run_rate],
        np.nan,
    )
    plans["plan_key"] = plans["plan_id"]

    # key accounts without a plan covering the run date
    tiers = build.query("select customer_id, abc_class, is_key_account from customer_tiers")
    key = tiers[(tiers["abc_class"] == "A") | tiers["is_key_account"].fillna(False)]
    covered = plans[(plans["period_start"] <= AS_OF_TS) & (plans["period_end"] >= AS_OF_TS)]
    linked = accounts.dropna(subset=["erp_customer_id"]).set_index("erp_customer_id")["account_id"]
    without = key[~key["customer_id"].isin(covered["customer_id"])]
    keys = without["customer_id"].map(linked)
    no_plan = pd.DataFrame(
        {
            "plan_key": "no_plan:" + keys.fillna("erp:" + without["customer_id"]),
            "attainment_status": "no_plan",
        }
    )
    return pd.concat([plans.reset_index(drop=True), no_plan], ignore_index=True)


@pytest.fixture(scope="module")
def mart(build: Build) -> pd.DataFrame:
    return build.query("select * from account_plan_attainment")


def test_attainment_equals_a_pandas_recomputation_from_the_landed_parquet(
    build: Build, mart: pd.DataFrame
) -> None:
    expected = recompute(build).set_index("plan_key").sort_index()
    got = mart.set_index("plan_key").sort_index()
    assert list(got.index) == list(expected.index)
    plans = expected["attainment_status"] != "no_plan"
    assert plans.sum() == len(build.landed("crm", "account_plans")) > 100
    assert (~plans).sum() > 5  # key accounts without a plan
    for col in (
        "revenue_target_base", "margin_target_base", "revenue_to_date_base",
        "margin_to_date_base", "revenue_attainment_share", "margin_attainment_share",
        "expected_attainment_share", "pace_gap", "forecast_margin_base",
    ):  # fmt: skip
        np.testing.assert_allclose(
            got.loc[plans[plans].index, col].astype(float),
            expected.loc[plans, col].astype(float),
            rtol=1e-9, atol=1e-6, err_msg=col,
        )  # fmt: skip
    for col in (
        "attainment_status",
        "pace_method",
        "forecast_method",
        "elapsed_days",
        "period_days",
    ):
        pd.testing.assert_series_equal(
            got.loc[plans[plans].index, col].astype(object),
            expected.loc[plans, col].astype(object),
            check_names=False, obj=col,
        )  # fmt: skip
    assert (got.loc[~plans, "attainment_status"] == "no_plan").all()
    # the demo plans something of everything
    statuses = set(got["attainment_status"])
    assert {"on_track", "at_risk", "behind", "no_plan"} <= statuses
    assert {"seasonal", "linear"} <= set(got["pace_method"].dropna())
    assert {"clv_model", "actual"} <= set(got["forecast_method"].dropna())


def test_the_planted_plan_behind_pace_lands_behind(build: Build, mart: pd.DataFrame) -> None:
    planted = build.manifest["scenarios"]["plan_behind_pace"]
    rows = mart[mart["account_id"] == planted["account_id"]]
    assert len(rows) == 1
    row = rows.iloc[0]
    assert row["attainment_status"] == "behind"
    assert row["plan_status"] == "active"
    assert row["is_key_account"]
    assert row["pace_gap"] < -BEHIND
    assert row["revenue_attainment_share"] < row["expected_attainment_share"]
    assert row["forecast_margin_attainment_share"] < 1


def test_demo_plans_are_one_world_across_as_of_dates(tmp_path: Path) -> None:
    anchor = date(2026, 10, 31)
    early, late = tmp_path / "early", tmp_path / "late"
    generate(early, 150, 5, date(2025, 12, 20), anchor=anchor)
    generate(late, 150, 5, anchor, anchor=anchor)
    a = pd.read_csv(early / "crm" / "account_plans.csv", dtype=str).set_index("plan_id")
    b = pd.read_csv(late / "crm" / "account_plans.csv", dtype=str).set_index("plan_id")
    assert set(a.index) < set(b.index)  # plans drafted later are only in the later export
    fixed = [
        "account_id",
        "period_start",
        "period_end",
        "revenue_target",
        "margin_target",
        "currency",
    ]
    pd.testing.assert_frame_equal(a[fixed], b.loc[a.index, fixed])
    # the 2026 plans were drafts on 2025-12-20 and are active by the anchor
    plans_2026 = a[a["period_start"] == "2026-01-01"]
    assert len(plans_2026) > 0 and (plans_2026["status"] == "draft").all()
    assert (b.loc[plans_2026.index, "status"] == "active").all()
    assert (a[a["period_end"] == "2024-12-31"]["status"] == "closed").all()
    assert (b["updated_at"] <= "2026-10-31T23:59:59Z").all()
