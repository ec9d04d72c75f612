"""The customer-economics marts on the session's demo build, recomputed with pandas.

Every mart (customer_price_tolerance, customer_input_output, lifecycle_input_output,
customer_loyalty, customer_demand_forecast and its holdout, customer_whitespace) is
recomputed from the landed Parquet files (and, where a mart builds on another mart that
another test checks, from that mart) and compared row by row; the four planted scenarios
(kam_transforms.demo_economics) must land where they should and raise their alerts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from dbt_build import AS_OF, DBT_PROJECT_DIR, Build
from test_dbt_project import _order_lines_base

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

VARS: dict[str, Any] = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text("utf-8"))[
    "vars"
]
AS_OF_TS = pd.Timestamp(AS_OF)
WINDOW_START = AS_OF_TS - pd.DateOffset(months=12)


def _close(actual: pd.Series, expected: pd.Series, tol: float = 1e-6) -> None:
    joined = pd.concat([actual.rename("a"), expected.rename("e")], axis=1, join="outer")
    both_null = joined["a"].isna() & joined["e"].isna()
    diff = (joined["a"].astype(float) - joined["e"].astype(float)).abs()
    bad = joined[~both_null & ~(diff <= tol * np.maximum(1.0, joined["e"].abs().astype(float)))]
    assert bad.empty, f"{actual.name}: {len(bad)} rows differ, e.g.\n{bad.head()}"


@pytest.fixture(scope="module")
def lines(build: Build) -> pd.DataFrame:
    df = _order_lines_base(build)
    products = build.landed("erp", "products")[["product_id", "category"]]
    df = df.merge(products, on="product_id", how="left")
    df["category"] = df["category"].fillna("(none)")
    df["month"] = df["order_date"].dt.to_period("M")
    df["in_window"] = (df["order_date"] > WINDOW_START) & (df["order_date"] <= AS_OF_TS)
    df["list_base"] = df["quantity"] * df["unit_price"] * df["rate_to_base"]
    return df


@pytest.fixture(scope="module")
def scenarios(build: Build) -> dict[str, Any]:
    return build.manifest["scenarios"]


def _median_of_others(values: pd.Series) -> pd.Series:
    """Per element: the median of the other elements of its group (NaN when alone)."""
    array = values.to_numpy(dtype=float)
    return pd.Series(
        [np.median(np.delete(array, i)) if array.size > 1 else np.nan for i in range(array.size)],
        index=values.index,
    )


# --- customer_price_tolerance ---------------------------------------------------------------


def _late_share(build: Build) -> pd.Series:
    invoices = build.landed("erp", "invoices")
    payments = build.landed("erp", "payments")
    invoices = invoices[invoices["status"].str.lower() != "cancelled"].copy()
    for col in ("invoice_date", "due_date"):
        invoices[col] = pd.to_datetime(invoices[col])
    invoices = invoices[invoices["invoice_date"] <= AS_OF_TS]
    payments["paid_at"] = pd.to_datetime(payments["paid_at"]).dt.tz_localize(None).dt.normalize()
    payments = payments[payments["paid_at"] <= AS_OF_TS]
    payments["amount"] = pd.to_numeric(payments["amount"])
    paid = payments.groupby("invoice_id").agg(paid=("amount", "sum"), last=("paid_at", "max"))
    invoices = invoices.join(paid, on="invoice_id")
    invoices["paid"] = invoices["paid"].fillna(0.0)
    settled = invoices["paid"] >= pd.to_numeric(invoices["amount"]) - 0.005
    late = (settled & (invoices["last"] > invoices["due_date"])) | (
        ~settled & (invoices["due_date"] < AS_OF_TS)
    )
    due = (invoices["due_date"] > WINDOW_START) & (invoices["due_date"] <= AS_OF_TS)
    return late[due].astype(float).groupby(invoices.loc[due, "customer_id"]).mean()


def _account_customers(build: Build) -> pd.Series:
    accounts = build.landed("crm", "accounts")
    linked = accounts[accounts["erp_customer_id"].notna()]
    assert linked["erp_customer_id"].is_unique, "the demo links one account per customer"
    return linked.set_index("account_id")["erp_customer_id"]


def _cost_events(build: Build) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Touchpoints (with their unit cost) and tickets up to AS_OF, by ERP customer."""
    costs = VARS["cost_to_serve_unit_costs"]
    link = _account_customers(build)
    activities = build.landed("crm", "activities")
    activities["at"] = pd.to_datetime(activities["occurred_at"]).dt.tz_localize(None).dt.normalize()
    activities = activities[activities["at"] <= AS_OF_TS].copy()
    activities["customer_id"] = activities["account_id"].map(link)
    activities["cost"] = activities["activity_type"].map(costs).fillna(0.0)
    tickets = build.landed("crm", "tickets")
    tickets["at"] = pd.to_datetime(tickets["opened_at"]).dt.tz_localize(None).dt.normalize()
    tickets = tickets[tickets["at"] <= AS_OF_TS].copy()
    tickets["customer_id"] = tickets["account_id"].map(link)
    return activities.dropna(subset=["customer_id"]), tickets.dropna(subset=["customer_id"])


def _price_response(lines: pd.DataFrame) -> pd.DataFrame:
    window = VARS["price_response_window_months"]
    last_complete = AS_OF_TS.to_period("M")
    if (AS_OF_TS + pd.Timedelta(days=1)).day != 1:
        last_complete -= 1
    df = lines[lines["month"] <= last_complete].copy()
    df["net_local"] = df["quantity"] * df["unit_price"] * (1 - df["discount_pct"])
    monthly = df.groupby(["customer_id", "product_id", "currency", "month"], as_index=False).agg(
        quantity=("quantity", "sum"), net=("net_local", "sum")
    )
    monthly["price"] = monthly["net"] / monthly["quantity"]
    monthly["index"] = monthly["month"].map(lambda p: p.year * 12 + p.month)
    events = []
    for (customer, _, _), group in monthly.groupby(["customer_id", "product_id", "currency"]):
        group = group.sort_values("index")
        idx, qty, price = (
            group["index"].to_numpy(),
            group["quantity"].to_numpy(),
            group["price"].to_numpy(),
        )
        for k in range(1, len(group)):
            before = qty[(idx >= idx[k] - window) & (idx <= idx[k] - 1)].sum()
            after = qty[(idx >= idx[k]) & (idx <= idx[k] + window - 1)].sum()
            complete = idx[k] + window - 1 <= last_complete.year * 12 + last_complete.month
            rise = price[k] / price[k - 1] - 1
            if rise >= VARS["price_response_min_rise_share"] and before > 0 and complete:
                events.append((customer, rise, after / before - 1))
    frame = pd.DataFrame(events, columns=["customer_id", "rise", "change"])
    return frame.groupby("customer_id").agg(
        events=("rise", "size"), quantity_change=("change", "mean")
    )


def test_price_tolerance_matches_pandas(build: Build, lines: pd.DataFrame) -> None:
    mart = build.query("select * from customer_price_tolerance").set_index("customer_id")
    ordering = sorted(lines["customer_id"].unique())
    assert sorted(mart.index) == ordering

    trailing = lines[lines["in_window"] & (lines["quantity"] > 0)]
    cpm = trailing.groupby(["customer_id", "product_id", "month"], as_index=False).agg(
        quantity=("quantity", "sum"), revenue=("revenue", "sum")
    )
    cpm["price"] = cpm["revenue"] / cpm["quantity"]
    cpm["peer"] = cpm.groupby(["product_id", "month"])["price"].transform(_median_of_others)
    priced = cpm[cpm["peer"].notna()]
    index = priced.groupby("customer_id").apply(
        lambda g: g["revenue"].sum() / (g["quantity"] * g["peer"]).sum(), include_groups=False
    )
    _close(mart["price_index_t12m"], index.reindex(mart.index).rename("price_index_t12m"))

    window = lines[lines["in_window"]]
    grouped = window.assign(disc=window["discount_pct"] * window["list_base"]).groupby(
        "customer_id"
    )
    discount = grouped["disc"].sum() / grouped["list_base"].sum()
    _close(mart["discount_depth_t12m"], discount.reindex(mart.index))

    activities, tickets = _cost_events(build)
    in_window = lambda frame: frame[frame["at"] > WINDOW_START]  # noqa: E731
    cost = in_window(activities).groupby("customer_id")["cost"].sum().reindex(mart.index).fillna(
        0
    ) + VARS["cost_to_serve_unit_costs"]["ticket"] * in_window(tickets).groupby(
        "customer_id"
    ).size().reindex(mart.index).fillna(0)
    _close(mart["cost_to_serve_t12m"], cost)
    margin = window.groupby("customer_id")["margin"].sum().reindex(mart.index).fillna(0)
    late = _late_share(build).reindex(mart.index)

    discount_c = 100 * np.minimum(
        discount.reindex(mart.index).fillna(0) / VARS["squeeze_discount_full_share"], 1
    )
    late_c = 100 * late.fillna(0)
    cost_c = pd.Series(
        np.where(
            margin > 0,
            100
            * np.minimum(
                cost / margin.where(margin > 0) / VARS["squeeze_cost_to_serve_full_share"], 1
            ),
            np.where(cost > 0, 100.0, 0.0),
        ),
        index=mart.index,
    )
    w = VARS["squeeze_score_weights"]
    score = (
        w["discount_depth"] * discount_c
        + w["payment_lateness"] * late_c
        + w["cost_to_serve"] * cost_c
    ) / sum(w.values())
    _close(mart["squeeze_score"], score.round(2), tol=0.011)

    response = _price_response(lines).reindex(mart.index)
    assert (mart["price_rise_events"] == response["events"].fillna(0)).all()
    _close(mart["average_quantity_change_share"], response["quantity_change"])
    expected_label = np.where(
        response["events"].fillna(0) < VARS["price_response_min_events"],
        "unknown",
        np.where(
            response["quantity_change"] <= -VARS["price_response_sensitive_share"],
            "sensitive",
            "tolerant",
        ),
    )
    assert (mart["price_response"].to_numpy() == expected_label).all()

    revenue = window.groupby("customer_id")["revenue"].sum().reindex(mart.index).fillna(0)
    large = (revenue.rank(method="min") - 1) / (len(revenue) - 1) >= VARS[
        "squeeze_large_account_min_revenue_percentile"
    ]
    assert (mart["is_large_account"] == (large & (revenue > 0))).all()
    expected_flag = large & (revenue > 0) & (mart["squeeze_score"] >= VARS["squeeze_min_score"])
    assert (mart["is_large_account_squeezing"] == expected_flag).all()

    tiers = build.query("select customer_id, abc_class from customer_tiers").set_index(
        "customer_id"
    )
    industry = (
        build.landed("crm", "accounts").dropna(subset=["erp_customer_id"])
        .set_index("erp_customer_id")["industry"]
    )  # fmt: skip
    rates = (margin / revenue.where(revenue > 0)).rename("rate").to_frame()
    rates["group"] = (
        tiers["abc_class"].reindex(rates.index)
        + "|"
        + industry.reindex(rates.index).fillna("(none)")
    )
    rated = rates.dropna(subset=["rate"])
    peer = rated.groupby("group")["rate"].transform(_median_of_others)
    _close(mart["peer_margin_rate_median"], peer.reindex(mart.index))


# --- customer_input_output / lifecycle_input_output ----------------------------------------


def test_input_output_matches_pandas(build: Build, lines: pd.DataFrame) -> None:
    mart = build.query("select * from customer_input_output")
    mart["month"] = pd.to_datetime(mart["month_start_date"]).dt.to_period("M")
    mart = mart.set_index(["customer_id", "month"]).sort_index()
    cohort = lines.groupby("customer_id")["month"].min()
    activities, tickets = _cost_events(build)
    activities = activities[activities["customer_id"].isin(cohort.index)]
    tickets = tickets[tickets["customer_id"].isin(cohort.index)]
    for frame in (activities, tickets):
        frame["month"] = np.maximum(
            frame["at"].dt.to_period("M").to_numpy(),
            cohort.reindex(frame["customer_id"]).to_numpy(),
        )
    keys = ["customer_id", "month"]
    expected = pd.DataFrame(index=mart.index)
    expected["touchpoint"] = activities.groupby(keys)["cost"].sum()
    expected["tickets"] = tickets.groupby(keys).size()
    with_disc = lines.assign(disc=lines["discount_pct"] * lines["list_base"])
    expected["discount"] = with_disc.groupby(keys)["disc"].sum()
    expected["margin"] = lines.groupby(keys)["margin"].sum()
    expected = expected.fillna(0.0)

    assert len(mart) == sum((AS_OF_TS.to_period("M") - m).n + 1 for m in cohort)
    assert (mart["ticket_count"] == expected["tickets"]).all()
    _close(mart["input_touchpoint_cost"], expected["touchpoint"])
    _close(
        mart["input_ticket_cost"], VARS["cost_to_serve_unit_costs"]["ticket"] * expected["tickets"]
    )
    _close(
        mart["input_discount_cost"], VARS["input_output_discount_unit_cost"] * expected["discount"]
    )
    _close(mart["output_margin"], expected["margin"])
    inputs = expected["touchpoint"] + 120.0 * expected["tickets"] + expected["discount"]
    _close(mart["cumulative_input_cost"], inputs.groupby(level=0).cumsum())
    _close(mart["cumulative_output_margin"], expected["margin"].groupby(level=0).cumsum())
    # every ticket and touchpoint of an ordering customer up to AS_OF is counted once
    assert mart["ticket_count"].sum() == len(tickets)
    assert mart["touchpoint_count"].sum() == len(activities)

    stages = build.query("select * from lifecycle_input_output").set_index(
        ["lifecycle_stage", "month_of_life"]
    )
    flat = mart.reset_index()
    flat["lifecycle_stage"] = flat["lifecycle_stage"].fillna("unknown")
    agg = flat.groupby(["lifecycle_stage", "month_of_life"]).agg(
        customers=("customer_id", "size"),
        active=("is_active", "sum"),
        input_total=("input_cost", "sum"),
        output_total=("output_margin", "sum"),
        cumulative_output=("cumulative_output_margin", "mean"),
    )
    assert sorted(stages.index) == sorted(agg.index)
    agg = agg.reindex(stages.index)
    assert (stages["customer_count"] == agg["customers"]).all()
    assert (stages["ordering_customer_count"] == agg["active"]).all()
    _close(stages["input_cost_total"], agg["input_total"])
    _close(stages["output_margin_per_customer"], agg["output_total"] / agg["customers"])
    _close(stages["cumulative_output_margin_per_customer"], agg["cumulative_output"])
    assert abs(stages["output_margin_total"].sum() - lines["margin"].sum()) < 1e-3


# --- customer_loyalty ---------------------------------------------------------------------


def test_loyalty_matches_pandas(build: Build, lines: pd.DataFrame) -> None:
    mart = build.query("select * from customer_loyalty").set_index("customer_id").sort_index()
    tolerance = (
        build.query(
            "select customer_id, price_index_t12m, price_response, discount_depth_t12m "
            "from customer_price_tolerance"
        )
        .set_index("customer_id")
        .reindex(mart.index)
    )
    first = lines.groupby("customer_id")["order_date"].min().reindex(mart.index)
    months = [AS_OF_TS.to_period("M") - k for k in range(12)]
    active = lines[lines["month"].isin(months)].groupby("customer_id")["month"].nunique()
    life = first.dt.to_period("M").map(lambda m: sum(1 for month in months if month >= m))
    repeat = (active.reindex(mart.index).fillna(0) / life).where(life > 0, 0.0)
    catalogue = build.landed("erp", "products")["category"].nunique()
    breadth = lines[lines["in_window"]].groupby("customer_id")["category"].nunique()
    breadth = breadth.reindex(mart.index).fillna(0) / catalogue
    tenure = (AS_OF_TS - first).dt.days
    surveys = build.landed("crm", "surveys")
    surveys = surveys[surveys["survey_type"] == "nps"].copy()
    surveys["at"] = pd.to_datetime(surveys["responded_at"]).dt.tz_localize(None)
    surveys = surveys[surveys["at"].dt.normalize() <= AS_OF_TS]
    latest = surveys.sort_values(["at", "response_id"]).groupby("account_id")["score"].last()
    nps = (
        pd.to_numeric(latest.reindex(_account_customers(build).index))
        .set_axis(_account_customers(build).to_numpy())
        .reindex(mart.index)
    )
    promoter = np.select([nps.isna(), nps >= 9, nps >= 7], [50.0, 100.0, 50.0], 0.0)

    span = VARS["loyalty_price_index_span"]
    parts = pd.DataFrame(
        {
            "index": ((tolerance["price_index_t12m"] - (1 - span)) / (2 * span)).clip(0, 1),
            "response": tolerance["price_response"].map({"tolerant": 1.0, "sensitive": 0.0}),
            "discount": 1
            - (tolerance["discount_depth_t12m"] / VARS["squeeze_discount_full_share"]).clip(
                upper=1
            ),
        }
    )
    price_tolerance = (100 * parts.mean(axis=1)).fillna(50.0)
    w = VARS["loyalty_weights"]
    index = (
        w["repeat_purchase"] * 100 * repeat
        + w["cross_purchase"] * 100 * breadth
        + w["tenure"] * 100 * np.minimum(tenure / VARS["loyalty_full_tenure_days"], 1)
        + w["promoter"] * promoter
        + w["price_tolerance"] * price_tolerance
    ) / sum(w.values())
    _close(mart["repeat_purchase_rate"], repeat)
    _close(mart["category_share_t12m"], breadth)
    _close(mart["price_tolerance_score"], price_tolerance.round(2), tol=0.011)
    _close(mart["loyalty_index"], index.round(2), tol=0.011)
    medium = np.where(index >= VARS["loyalty_medium_min_index"], "medium", "low")
    band = np.where(index >= VARS["loyalty_high_min_index"], "high", medium)
    assert (mart["loyalty_band"].to_numpy() == band).all()


# --- customer_demand_forecast and its holdout -----------------------------------------------


def _mix(lines: pd.DataFrame, end: pd.Timestamp, horizon: float) -> pd.DataFrame:
    """category_mix + normalised category_weight at ``end`` for ``horizon`` months."""
    df = lines[lines["order_date"] <= end]
    start, middle = end - pd.DateOffset(months=12), end - pd.DateOffset(months=6)
    df = df.assign(
        window=np.where(df["order_date"] > start, df["revenue"], 0.0),
        recent=np.where(df["order_date"] > middle, df["revenue"], 0.0),
        earlier=np.where(
            (df["order_date"] > start) & (df["order_date"] <= middle), df["revenue"], 0.0
        ),
    )
    cat = df.groupby(["customer_id", "category"])[["window", "recent", "earlier", "revenue"]].sum()
    totals = cat.groupby(level=0).transform("sum")
    trailing = totals["window"] > 0
    share = np.where(
        trailing,
        cat["window"] / totals["window"].where(trailing),
        cat["revenue"] / totals["revenue"],
    )
    both = trailing & (totals["recent"] > 0) & (totals["earlier"] > 0)
    trend = np.where(
        both,
        cat["recent"] / totals["recent"].where(both)
        - cat["earlier"] / totals["earlier"].where(both),
        0.0,
    )
    out = pd.DataFrame({"share": share, "trend": trend}, index=cat.index)
    out = out[np.where(trailing, cat["window"] > 0, cat["revenue"] > 0)]
    projected = np.maximum(
        0.0,
        out["share"] + VARS["demand_forecast_trend_weight"] * out["trend"] * (6 + horizon / 2) / 6,
    )
    total = projected.groupby(level=0).transform("sum")
    out["weight"] = np.where(total > 0, projected / total.where(total > 0), out["share"])
    out["mix_share"] = out["share"] / out["share"].groupby(level=0).transform("sum")
    return out


def test_demand_forecast_splits_the_clv_expectation(build: Build, lines: pd.DataFrame) -> None:
    forecast = build.query("select * from customer_demand_forecast")
    key_accounts = set(
        build.query(
            "select customer_id from customer_tiers where abc_class = 'A' or is_key_account"
        )["customer_id"]
    )
    assert set(forecast["customer_id"]) == key_accounts
    assert sorted(forecast["horizon_months"].unique()) == VARS["demand_forecast_horizons_months"]
    clv = build.query("select * from customer_clv").set_index("customer_id")
    run_ids = build.query("select model_run_id from clv_model_runs")["model_run_id"]
    assert set(forecast["model_run_id"].dropna()) <= set(run_ids)

    totals = forecast.groupby(["customer_id", "horizon_months"])["expected_orders"].sum().unstack()
    horizon = VARS["clv_horizon_months"]
    modelled = clv["expected_purchases"].reindex(totals.index)
    has_model = modelled.notna()
    assert has_model.sum() > 0.9 * len(totals)
    assert np.allclose(totals.loc[has_model, horizon], modelled[has_model], rtol=1e-9, atol=1e-9)
    assert (totals[3] < totals[6]).all() and (totals[6] < totals[12]).all()
    basis = forecast.groupby("customer_id")["forecast_basis"].first()
    assert (basis[has_model] == "clv").all() and (basis[~has_model] == "run_rate").all()
    fell_back = forecast.groupby("customer_id")["is_clv_fallback"].first()
    assert (fell_back == clv["is_fallback"].reindex(fell_back.index)).all()

    margins = forecast.groupby(["customer_id", "horizon_months"])["expected_margin"].sum().unstack()
    expected_margin = modelled * clv["expected_avg_margin"].reindex(totals.index)
    assert np.allclose(margins.loc[has_model, horizon], expected_margin[has_model], rtol=1e-9)

    for h in VARS["demand_forecast_horizons_months"]:
        mix = _mix(lines, AS_OF_TS, h)
        rows = forecast[forecast["horizon_months"] == h].set_index(
            ["customer_id", "product_category"]
        )
        expected = mix["weight"].reindex(rows.index)
        assert expected.notna().all()
        _close(rows["category_weight"], expected, tol=1e-9)


def test_holdout_records_the_category_split_against_what_was_bought(
    build: Build, lines: pd.DataFrame
) -> None:
    holdout = build.query("select * from customer_demand_forecast_holdout")
    weeks = VARS["clv_holdout_weeks"]
    cutoff = AS_OF_TS - pd.Timedelta(weeks=weeks)
    assert (pd.to_datetime(holdout["calibration_cutoff_date"]) == cutoff).all()
    months = weeks * 7 / (365.25 / 12)
    key_accounts = build.query(
        "select customer_id from customer_tiers where abc_class = 'A' or is_key_account"
    )["customer_id"]
    after = lines[(lines["order_date"] > cutoff) & lines["customer_id"].isin(key_accounts)]
    actual = after.groupby(["customer_id", "category"])["revenue"].sum()
    actual_share = actual / actual.groupby(level=0).transform("sum")
    mix = _mix(lines, cutoff, months)
    mix = mix[mix.index.get_level_values(0).isin(actual_share.index.get_level_values(0))]
    expected = pd.concat(
        [mix[["weight", "mix_share"]], actual_share.rename("actual")], axis=1
    ).fillna(0.0)
    rows = holdout.set_index(["customer_id", "product_category"]).sort_index()
    expected.index.names = rows.index.names
    assert rows.index.equals(expected.sort_index().index)
    _close(rows["actual_share"], expected["actual"])
    _close(rows["predicted_share"], expected["weight"], tol=1e-9)
    _close(rows["share_error"], expected["weight"] - expected["actual"], tol=1e-9)
    # each account's split adds up to one (the forecast's: if it had bought before the cutoff)
    predicted = rows.groupby(level=0)["predicted_share"].sum()
    bought_before = lines.loc[lines["order_date"] <= cutoff, "customer_id"].unique()
    assert np.allclose(predicted[predicted.index.isin(bought_before)], 1.0)
    assert np.allclose(predicted[~predicted.index.isin(bought_before)], 0.0)
    assert np.allclose(rows.groupby(level=0)["actual_share"].sum(), 1.0)


# --- customer_whitespace ------------------------------------------------------------------


def test_whitespace_matches_pandas(build: Build, lines: pd.DataFrame) -> None:
    mart = build.query("select * from customer_whitespace").set_index(
        ["customer_id", "product_category"]
    )
    tiers = build.query(
        "select customer_id, abc_class, is_key_account, revenue_t12m from customer_tiers"
    )
    tiers = tiers.set_index("customer_id")
    industry = (
        build.landed("crm", "accounts").dropna(subset=["erp_customer_id"])
        .set_index("erp_customer_id")["industry"]
    )  # fmt: skip
    tiers["group"] = tiers["abc_class"] + "|" + industry.reindex(tiers.index).fillna("(none)")
    margins = lines[lines["in_window"]].groupby(["customer_id", "category"])["margin"].sum()
    categories = sorted(build.landed("erp", "products")["category"].fillna("(none)").unique())
    rows = []
    for customer, tier in tiers[(tiers["abc_class"] == "A") | tiers["is_key_account"]].iterrows():
        bought = (
            set(margins.loc[customer].index)
            if customer in margins.index.get_level_values(0)
            else set()
        )
        peers = tiers[
            (tiers["group"] == tier["group"])
            & (tiers.index != customer)
            & (tiers["revenue_t12m"] > 0)
        ]
        for category in categories:
            if category in bought:
                continue
            buyer_margins = [
                margins[(p, category)] for p in peers.index if (p, category) in margins.index
            ]
            share = len(buyer_margins) / len(peers) if len(peers) else 0.0
            median = float(np.median(buyer_margins)) if buyer_margins else np.nan
            value = share * max(0.0 if np.isnan(median) else median, 0.0)
            rows.append((customer, category, len(peers), len(buyer_margins), share, median, value))
    expected = pd.DataFrame(
        rows,
        columns=[
            "customer_id",
            "product_category",
            "similar",
            "buying",
            "share",
            "median",
            "value",
        ],
    ).set_index(["customer_id", "product_category"])
    assert sorted(mart.index) == sorted(expected.index)
    expected = expected.reindex(mart.index)
    assert (mart["similar_account_count"] == expected["similar"]).all()
    assert (mart["buying_account_count"] == expected["buying"]).all()
    _close(mart["peer_median_category_margin"], expected["median"])
    _close(mart["opportunity_value"], expected["value"])


# --- planted scenarios --------------------------------------------------------------------


def test_customer_economics_plants_land_where_they_should(
    build: Build, scenarios: dict[str, Any]
) -> None:
    tolerance = build.query("select * from customer_price_tolerance").set_index("customer_id")
    loyalty = build.query("select * from customer_loyalty").set_index("customer_id")
    whitespace = build.query("select * from customer_whitespace")
    alerts = build.query(
        "select customer_id, rule_id, alert_type, severity, dedup_key from key_account_alerts"
    )

    squeezer = scenarios["squeezing_large_account"]["customer_id"]
    row = tolerance.loc[squeezer]
    assert row["is_large_account_squeezing"] and row["squeeze_score"] >= VARS["squeeze_min_score"]
    assert tolerance["squeeze_score"].rank(ascending=False)[squeezer] == 1
    assert row["discount_depth_component"] == 100 and row["payment_lateness_component"] == 100
    squeeze = alerts[
        (alerts["customer_id"] == squeezer) & (alerts["rule_id"] == "squeeze_score_high")
    ]
    assert list(squeeze["alert_type"]) == ["risk"] and list(squeeze["severity"]) == ["high"]
    assert set(alerts.loc[alerts["rule_id"] == "squeeze_score_high", "customer_id"]) == {squeezer}

    loyal = scenarios["loyal_cross_buyer"]["customer_id"]
    assert loyalty.loc[loyal, "loyalty_band"] == "high"
    assert loyalty.loc[loyal, "category_share_t12m"] == 1.0
    assert loyalty.loc[loyal, "promoter_status"] == "promoter"
    assert loyalty["loyalty_index"].rank(ascending=False)[loyal] <= 3

    riser = scenarios["price_rise_quantity_drop"]["customer_id"]
    assert tolerance.loc[riser, "price_response"] == "sensitive"
    assert tolerance.loc[riser, "price_rise_events"] >= VARS["price_response_min_events"]
    assert -0.6 < tolerance.loc[riser, "average_quantity_change_share"] < -0.2
    assert tolerance.loc[riser, "average_price_rise_share"] == pytest.approx(0.15, abs=0.01)

    missing = scenarios["key_account_missing_category"]["customer_id"]
    gap = whitespace[
        (whitespace["customer_id"] == missing) & (whitespace["product_category"] == "Software")
    ]
    assert len(gap) == 1
    gap_row = gap.iloc[0]
    assert gap_row["buying_account_count"] >= 0.8 * gap_row["similar_account_count"] > 0
    assert gap_row["opportunity_rank"] == 1
    assert gap_row["opportunity_value"] >= VARS["alert_whitespace_min_value"]
    found = alerts[
        (alerts["customer_id"] == missing) & (alerts["rule_id"] == "whitespace_opportunity")
    ]
    assert list(found["severity"]) == ["low"]
    assert list(found["dedup_key"]) == [f"{missing}|whitespace_opportunity|{AS_OF:%Y-%m}"]
    # at most one whitespace alert per account (the best category), and not a flood
    per_account = (
        alerts[alerts["rule_id"] == "whitespace_opportunity"].groupby("customer_id").size()
    )
    assert per_account.max() == 1
    assert len(per_account) <= 0.25 * whitespace["customer_id"].nunique()


def test_tiers_are_unchanged_by_the_default_economics_weights(build: Build) -> None:
    tiers = build.query(
        "select key_account_score, revenue_volume_score, revenue_potential_score, "
        "lifetime_value_score, product_fit_score, strategic_value_score from customer_tiers"
    )
    w = VARS["key_account_score_weights"]
    assert w["loyalty"] == 0 and w["low_squeeze"] == 0
    assert VARS["value_matrix_squeeze_weight"] == 0 and VARS["value_matrix_loyalty_weight"] == 0
    five = [
        "revenue_volume",
        "revenue_potential",
        "lifetime_value",
        "product_fit",
        "strategic_value",
    ]
    score = sum(w[k] * tiers[f"{k}_score"] for k in five) / sum(w[k] for k in five)
    assert np.allclose(tiers["key_account_score"], score, atol=0.011)
