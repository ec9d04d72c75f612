"""The dbt project built on a generated demo data set, checked against the landing data.

One session-scoped build (``tests/dbt_build.py``, fixture ``build``): the demo generator
writes CSV exports as of AS_OF, the file-drop extractor lands them in a private lake, ``dbt
build`` (models and data tests) writes a private DuckDB file. The tests then recompute what
the marts claim independently with pandas from the landed Parquet files.
"""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from dbt_build import AS_OF, CUSTOMERS, SEED, Build, run_dbt

__all__ = ["AS_OF", "CUSTOMERS", "SEED", "Build", "run_dbt"]

CUTOFF_A = 0.80
CUTOFF_B = 0.95
BAND = 0.02
TIER_COMPARISON_DAYS = 90

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


# --- independent recomputation from the landing data ------------------------------------


def _order_lines_base(build: Build) -> pd.DataFrame:
    """Non-cancelled order lines up to AS_OF with revenue and margin in USD (pandas only)."""
    orders = build.landed("erp", "orders")
    lines = build.landed("erp", "order_lines")
    products = build.landed("erp", "products")
    fx = build.landed("erp", "fx_rates")

    orders["order_date"] = pd.to_datetime(orders["order_date"])
    orders = orders[
        (orders["status"].str.lower() != "cancelled")
        & (orders["order_date"] <= pd.Timestamp(AS_OF))
    ]
    df = lines.merge(orders[["order_id", "customer_id", "order_date", "currency"]], on="order_id")
    df = df.merge(
        products[["product_id", "unit_cost", "currency"]].rename(
            columns={"unit_cost": "product_unit_cost", "currency": "product_currency"}
        ),
        on="product_id",
        how="left",
    )
    for col in ("quantity", "unit_price", "discount_pct", "unit_cost", "product_unit_cost"):
        df[col] = pd.to_numeric(df[col])
    df["discount_pct"] = df["discount_pct"].fillna(0.0)

    fx["rate_date"] = pd.to_datetime(fx["rate_date"])
    fx["rate_to_base"] = pd.to_numeric(fx["rate_to_base"])
    fx = fx.sort_values("rate_date")
    df = df.sort_values("order_date")
    df = pd.merge_asof(
        df, fx[["currency", "rate_date", "rate_to_base"]], left_on="order_date",
        right_on="rate_date", by="currency", direction="backward",
    )  # fmt: skip
    df.loc[df["currency"] == "USD", "rate_to_base"] = 1.0
    assert df["rate_to_base"].notna().all(), "an order has no fx rate on or before its date"

    cost = df["unit_cost"].where(df["unit_cost"].notna())
    assert cost.notna().all(), "the demo data carries a unit cost on every line"
    df["revenue"] = (
        df["quantity"] * df["unit_price"] * (1 - df["discount_pct"]) * df["rate_to_base"]
    )
    df["margin"] = df["revenue"] - df["quantity"] * cost * df["rate_to_base"]
    return df


def _classes(measure: pd.Series, ids: pd.Series) -> pd.DataFrame:
    """Pure ABC classes: rank by measure desc, ties by id; A while the share before < 80%."""
    frame = pd.DataFrame({"customer_id": ids.values, "measure": measure.values})
    frame = frame.sort_values(["measure", "customer_id"], ascending=[False, True])
    positive = frame["measure"].clip(lower=0)
    total = positive.sum()
    running = positive.cumsum()
    frame["share_before"] = (running - positive) / total
    frame["cumulative_share"] = (running / total).clip(upper=1.0)
    frame["pure_class"] = "C"
    frame.loc[(frame["measure"] > 0) & (frame["share_before"] < CUTOFF_B), "pure_class"] = "B"
    frame.loc[(frame["measure"] > 0) & (frame["share_before"] < CUTOFF_A), "pure_class"] = "A"
    return frame.set_index("customer_id")


def _expected_tiers(build: Build) -> pd.DataFrame:
    lines = _order_lines_base(build)
    as_of = pd.Timestamp(AS_OF)
    previous_end = as_of - pd.Timedelta(days=TIER_COMPARISON_DAYS)

    def window_sum(column: str, end: pd.Timestamp, months_back: int) -> pd.Series:
        start = end - pd.DateOffset(months=months_back)
        prior_end = end - pd.DateOffset(months=months_back - 12)
        in_window = (lines["order_date"] > start) & (lines["order_date"] <= prior_end)
        return lines[in_window].groupby("customer_id")[column].sum()

    landed_ids = set(build.landed("erp", "customers")["customer_id"])
    tiers = pd.DataFrame({"customer_id": sorted(landed_ids | set(lines["customer_id"]))})
    tiers = tiers.set_index("customer_id")
    tiers["revenue_t12m"] = window_sum("revenue", as_of, 12)
    tiers["gross_margin_t12m"] = window_sum("margin", as_of, 12)
    tiers["revenue_prior_12m"] = window_sum("revenue", as_of, 24)
    tiers["previous_margin"] = window_sum("margin", previous_end, 12)
    tiers = tiers.fillna(0.0).reset_index()

    current = _classes(tiers["gross_margin_t12m"], tiers["customer_id"])
    previous = _classes(tiers["previous_margin"], tiers["customer_id"])
    tiers = tiers.set_index("customer_id")
    tiers["cumulative_share"] = current["cumulative_share"]
    tiers["share_before"] = current["share_before"]
    tiers["expected_class"] = current["pure_class"]
    tiers["expected_previous_class"] = previous["pure_class"]

    # hysteresis: the cut-off moves by the band in favour of the previous class
    was_a = tiers["expected_previous_class"] == "A"
    was_a_or_b = tiers["expected_previous_class"].isin(["A", "B"])
    threshold_a = CUTOFF_A + was_a.map({True: BAND, False: -BAND})
    threshold_b = CUTOFF_B + was_a_or_b.map({True: BAND, False: -BAND})
    positive = tiers["gross_margin_t12m"] > 0
    tiers["expected_banded_class"] = "C"
    tiers.loc[positive & (tiers["share_before"] < threshold_b), "expected_banded_class"] = "B"
    tiers.loc[positive & (tiers["share_before"] < threshold_a), "expected_banded_class"] = "A"
    return tiers.reset_index()


# --- the tests --------------------------------------------------------------------------


def test_build_ran_models_and_tests(build: Build) -> None:
    assert "ERROR=0" in build.dbt_stdout
    assert "PASS=" in build.dbt_stdout


def test_one_tier_per_customer_in_landing_data(build: Build) -> None:
    landed_customers = set(build.landed("erp", "customers")["customer_id"])
    tiers = build.query("select customer_id, abc_class from customer_tiers")
    assert len(tiers) == tiers["customer_id"].nunique() == len(landed_customers)
    assert set(tiers["customer_id"]) == landed_customers
    assert set(tiers["abc_class"]) <= {"A", "B", "C"}


def test_dim_customers_has_every_account_and_unlinked_customer(build: Build) -> None:
    accounts = build.landed("crm", "accounts")
    customers = build.landed("erp", "customers")
    linked = set(accounts["erp_customer_id"].dropna())
    expected = accounts["account_id"].nunique() + len(set(customers["customer_id"]) - linked)
    dim = build.query("select customer_key, account_id, customer_id from dim_customers")
    assert len(dim) == dim["customer_key"].nunique() == expected
    assert set(dim["customer_id"].dropna()) == set(customers["customer_id"])


def test_order_lines_fact_matches_landing(build: Build) -> None:
    expected = _order_lines_base(build)
    fact = build.query("select order_line_id, revenue_base, gross_margin_base from fct_order_lines")
    assert len(fact) == len(expected)
    merged = fact.merge(expected[["order_line_id", "revenue", "margin"]], on="order_line_id")
    assert len(merged) == len(expected)
    assert (merged["revenue_base"] - merged["revenue"]).abs().max() < 1e-6
    assert (merged["gross_margin_base"] - merged["margin"]).abs().max() < 1e-6


def test_trailing_revenue_and_margin_match_pandas(build: Build) -> None:
    expected = _expected_tiers(build)
    tiers = build.query(
        "select customer_id, revenue_t12m, gross_margin_t12m, revenue_prior_12m, "
        "revenue_change_share from customer_tiers"
    )
    joined = tiers.merge(expected, on="customer_id", how="left", suffixes=("", "_expected"))
    for col in ("revenue_t12m", "gross_margin_t12m", "revenue_prior_12m"):
        assert (joined[col] - joined[f"{col}_expected"]).abs().max() < 1e-4, col
    change = (joined["revenue_t12m_expected"] - joined["revenue_prior_12m_expected"]) / joined[
        "revenue_prior_12m_expected"
    ].where(joined["revenue_prior_12m_expected"] != 0)
    both_null = change.isna() & joined["revenue_change_share"].isna()
    # money sums are exact at 6 decimals (exact_sum), so the share agrees to 1e-6
    assert ((change - joined["revenue_change_share"]).abs().lt(1e-6) | both_null).all()


def test_class_a_is_top_customers_reaching_80_percent_of_margin(build: Build) -> None:
    expected = _expected_tiers(build)
    tiers = build.query(
        "select customer_id, unbanded_abc_class as abc_class, cumulative_share, measure_rank "
        "from customer_tiers"
    )
    merged = tiers.merge(
        expected[["customer_id", "expected_class", "cumulative_share"]], on="customer_id"
    )
    assert len(merged) == len(expected)
    mismatched = merged[merged["abc_class"] != merged["expected_class"]]
    assert mismatched.empty, mismatched.head().to_string()
    assert (merged["cumulative_share_x"] - merged["cumulative_share_y"]).abs().max() < 1e-9

    class_a = merged[merged["abc_class"] == "A"].sort_values("measure_rank")
    assert 0 < len(class_a) < len(merged)
    # the last A customer crosses the cut-off; the one before it had not reached it
    assert class_a["cumulative_share_x"].iloc[-1] >= CUTOFF_A
    if len(class_a) > 1:
        assert class_a["cumulative_share_x"].iloc[-2] < CUTOFF_A
    # classes follow rank order: A ranks, then B, then C
    ordered = merged.sort_values("measure_rank")["abc_class"].tolist()
    assert ordered == sorted(ordered)


def test_previous_and_banded_classes_match_pandas(build: Build) -> None:
    expected = _expected_tiers(build)
    tiers = build.query(
        "select customer_id, abc_class, previous_abc_class, is_class_changed from customer_tiers"
    )
    merged = tiers.merge(expected, on="customer_id")
    assert len(merged) == len(expected)
    assert (merged["previous_abc_class"] == merged["expected_previous_class"]).all()
    mismatched = merged[merged["abc_class"] != merged["expected_banded_class"]]
    assert mismatched.empty, mismatched[["customer_id", "abc_class", "share_before"]].head()
    assert (
        merged["is_class_changed"] == (merged["abc_class"] != merged["previous_abc_class"])
    ).all()


def test_declining_key_account_has_revenue_decline_alert(build: Build) -> None:
    scenario = build.manifest["scenarios"]["declining_key_account"]
    alerts = build.query("select * from key_account_alerts")
    hits = alerts[
        (alerts["customer_id"] == scenario["customer_id"])
        & (alerts["rule_id"] == "revenue_decline")
    ]
    assert len(hits) == 1, alerts[["customer_id", "rule_id"]].to_string()
    alert = hits.iloc[0]
    assert alert["alert_type"] == "risk"
    assert alert["severity"] in {"medium", "high"}
    assert alert["reason"].startswith("Trailing 12-month revenue fell ")
    assert alert["dedup_key"] == f"{scenario['customer_id']}|revenue_decline"
    evidence = json.loads(alert["evidence"])
    assert evidence["revenue_change_share"] == {
        "value": evidence["revenue_change_share"]["value"], "unit": "share"
    }
    assert evidence["revenue_change_share"]["value"] <= -0.30
    assert alert["owner_id"] == scenario["owner_id"]
    assert alert["owner_email"] == scenario["owner_email"]


def test_alert_ids_follow_the_contract(build: Build) -> None:
    import hashlib

    alerts = build.query("select as_of_date, alert_id, dedup_key from key_account_alerts")
    assert not alerts.empty
    for row in alerts.itertuples():
        digest = hashlib.md5(f"{row.dedup_key}{AS_OF.isoformat()}".encode())  # noqa: S324
        assert row.alert_id == digest.hexdigest()
        assert pd.Timestamp(row.as_of_date).date() == AS_OF


def _rfm_score(rank: pd.Series, n: int) -> pd.Series:
    return (1 + (5.0 * (rank - 1) / n).apply(math.floor)).astype(int)


def test_rfm_scores_match_pandas(build: Build) -> None:
    lines = _order_lines_base(build)
    as_of = pd.Timestamp(AS_OF)
    start = as_of - pd.DateOffset(months=12)
    orders = lines.groupby(["customer_id", "order_id"], as_index=False)["order_date"].min()
    per_customer = orders.groupby("customer_id").agg(last_order_date=("order_date", "max"))
    trailing = orders[(orders["order_date"] > start) & (orders["order_date"] <= as_of)]
    per_customer["order_count_t12m"] = trailing.groupby("customer_id").size()
    per_customer["revenue_t12m"] = (
        lines[(lines["order_date"] > start) & (lines["order_date"] <= as_of)]
        .groupby("customer_id")["revenue"]
        .sum()
    )
    per_customer = per_customer.fillna({"order_count_t12m": 0, "revenue_t12m": 0.0})
    per_customer["recency_days"] = (as_of - per_customer["last_order_date"]).dt.days
    n = len(per_customer)
    per_customer["recency_score"] = _rfm_score(
        per_customer["recency_days"].rank(method="min", ascending=False), n
    )
    per_customer["frequency_score"] = _rfm_score(
        per_customer["order_count_t12m"].rank(method="min", ascending=True), n
    )
    per_customer["monetary_score"] = _rfm_score(
        per_customer["revenue_t12m"].round(6).rank(method="min", ascending=True), n
    )

    facts = build.query(
        "select customer_id, recency_days, order_count_t12m, recency_score, frequency_score, "
        "monetary_score from customer_facts where first_order_date is not null"
    )
    assert len(facts) == n
    joined = facts.merge(
        per_customer.reset_index(), on="customer_id", how="left", suffixes=("", "_expected")
    )
    for col in ("recency_days", "order_count_t12m", "recency_score", "frequency_score"):
        assert (joined[col] == joined[f"{col}_expected"]).all(), col
    # monetary ties only at exactly equal revenue; allow none to differ
    assert (joined["monetary_score"] == joined["monetary_score_expected"]).all()


def test_customer_facts_has_one_row_per_customer(build: Build) -> None:
    dim = build.query("select count(*) as n from dim_customers")["n"].iloc[0]
    facts = build.query(
        "select count(*) as n, count(distinct customer_key) as k from customer_facts"
    )
    assert facts["n"].iloc[0] == facts["k"].iloc[0] == dim


def test_planted_scenarios_land_where_they_should(build: Build) -> None:
    scenarios = build.manifest["scenarios"]
    declining = scenarios["declining_key_account"]["account_id"]
    growing = scenarios["fast_growing_potential"]["customer_id"]
    churned = scenarios["churned"]["account_id"]
    prospect = scenarios["prospect"]["account_id"]

    lifecycle = build.query(
        "select customer_key, lifecycle_stage from customer_lifecycle"
    ).set_index("customer_key")["lifecycle_stage"]
    assert lifecycle[declining] == "decline"
    assert lifecycle[churned] == "churned"
    assert lifecycle[prospect] == "prospect"

    health = build.query("select customer_key, health_band from customer_health").set_index(
        "customer_key"
    )["health_band"]
    assert health[declining] in {"red", "yellow"}

    tiers = build.query(
        "select customer_id, value_quadrant, abc_class, is_key_account from customer_tiers"
    ).set_index("customer_id")
    assert tiers.loc[growing, "value_quadrant"] == "potential"
    for name in ("overdue_invoices", "unresolved_complaint", "key_contact_left"):
        assert tiers.loc[scenarios[name]["customer_id"], "abc_class"] == "A", name

    facts = build.query("select * from customer_facts").set_index("account_id")
    assert (
        facts.loc[scenarios["account_manager_change"]["account_id"], "account_manager_changes_180d"]
        == 1
    )
    assert (
        facts.loc[scenarios["key_contact_left"]["account_id"], "key_contact_departures_180d"] >= 1
    )
    assert (
        facts.loc[
            scenarios["competitor_loss"]["account_id"], "opportunities_lost_to_competitor_t12m"
        ]
        >= 1
    )
    assert facts.loc[scenarios["overdue_invoices"]["account_id"], "overdue_amount_base"] > 0
    assert facts.loc[scenarios["unresolved_complaint"]["account_id"], "open_complaint_count"] >= 1
    assert (
        facts.loc[scenarios["no_recent_touchpoint"]["account_id"], "days_since_last_touchpoint"]
        >= 150
    )


def test_customer_monthly_is_dense_and_sums_to_the_fact(build: Build) -> None:
    monthly = build.query(
        "select customer_id, month_start_date, cohort_month_date, revenue_base, order_count, "
        "is_active from fct_customer_monthly"
    )
    lines = build.query(
        "select customer_id, order_date, order_id, revenue_base from fct_order_lines"
    )
    assert abs(monthly["revenue_base"].sum() - lines["revenue_base"].sum()) < 1e-3
    assert monthly["customer_id"].nunique() == lines["customer_id"].nunique()

    first = pd.to_datetime(lines.groupby("customer_id")["order_date"].min()).dt.to_period("M")
    last_month = pd.Timestamp(AS_OF).to_period("M")
    expected_rows = sum((last_month - month).n + 1 for month in first)
    assert len(monthly) == expected_rows

    lines["month"] = pd.to_datetime(lines["order_date"]).dt.to_period("M")
    orders = lines.groupby(["customer_id", "month"])["order_id"].nunique()
    monthly["month"] = pd.to_datetime(monthly["month_start_date"]).dt.to_period("M")
    active = monthly[monthly["is_active"]].set_index(["customer_id", "month"])["order_count"]
    assert active.sort_index().equals(
        orders.sort_index().rename("order_count").astype(active.dtype)
    )


def test_clv_is_fitted_once_and_every_customer_carries_that_run(build: Build) -> None:
    fits = build.query("select model_run_id, as_of_date from main_intermediate.int_clv_model_fit")
    assert len(fits) == 1 and str(fits["as_of_date"][0])[:10] == str(AS_OF)
    runs = build.query("select model_run_id from clv_model_runs")
    scored = build.query("select distinct model_run_id from customer_clv")
    assert list(scored["model_run_id"]) == list(fits["model_run_id"])
    assert fits["model_run_id"][0] in set(runs["model_run_id"])
    from dbt_build import DBT_PROJECT_DIR

    python_models = sorted(p.stem for p in (DBT_PROJECT_DIR / "models").rglob("*.py"))
    # one fit (int_clv_model_fit); the other CLV models read it and never fit again
    assert "int_clv_model_fit" in python_models and "clv_model_runs" not in python_models
