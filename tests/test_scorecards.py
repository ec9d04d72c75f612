"""account_manager_scorecards against a pandas recomputation from the session demo build
(tests/dbt_build.py): the owners' portfolios (dim_customers), classes and quadrants
(customer_tiers), trailing and prior 12-month revenue and margin (customer_facts), health
(customer_health), plans (account_plan_attainment) and alerts (key_account_alerts), each tested
against its own recomputation elsewhere; last year's class A, touchpoint coverage and the
0-100 score are recomputed here from the formula in the README and the dbt vars.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from dbt_build import AS_OF, DBT_PROJECT_DIR, Build

VARS = yaml.safe_load(Path(DBT_PROJECT_DIR, "dbt_project.yml").read_text())["vars"]


def _prior_class_a(facts: pd.DataFrame) -> pd.Series:
    """Class A of the prior 12-month window: share before the customer below abc_cutoff_a."""
    measure = facts[f"{VARS['abc_measure']}_prior_12m"].fillna(0).astype(float)
    order = pd.DataFrame({"customer_id": facts["customer_id"], "m": measure}).sort_values(
        ["m", "customer_id"], ascending=[False, True]
    )
    positive = order["m"].clip(lower=0)
    total = positive.sum()
    before = (positive.cumsum() - positive) / total if total > 0 else positive * 0 + 1
    is_a = (order["m"] > 0) & (before < VARS["abc_cutoff_a"])
    return pd.Series(is_a.values, index=order["customer_id"].values)


def _lines(build: Build) -> pd.DataFrame:
    customers = build.query(
        "select customer_id, owner_id, manager_email from dim_customers "
        "where owner_id is not null and customer_id is not null"
    )
    tiers = build.query(
        "select customer_id, abc_class, value_quadrant, is_key_account from customer_tiers"
    )
    facts = build.query(
        "select customer_id, revenue_t12m, gross_margin_t12m, revenue_prior_12m, "
        "gross_margin_prior_12m, days_since_last_touchpoint from customer_facts "
        "where customer_id is not null"
    )
    health = build.query("select customer_id, health_score from customer_health")
    lines = customers.merge(tiers, on="customer_id").merge(facts, on="customer_id", how="left")
    lines = lines.merge(health, on="customer_id", how="left")
    lines["is_key"] = (lines["abc_class"] == "A") | lines["is_key_account"].fillna(False)
    lines["was_a"] = lines["customer_id"].map(_prior_class_a(facts)).fillna(False)
    limits = VARS["alert_no_touchpoint_max_days"]
    limit = lines["abc_class"].map(limits)
    days = lines["days_since_last_touchpoint"]
    lines["touched"] = lines["is_key"] & (limit.isna() | (days <= limit).fillna(False))
    plans = build.query(
        "select customer_id, margin_target_base, margin_to_date_base, expected_attainment_share "
        "from account_plan_attainment where attainment_status in ('on_track', 'at_risk', 'behind')"
    )
    plans["expected"] = plans["margin_target_base"] * plans["expected_attainment_share"]
    plans = plans.groupby("customer_id")[["margin_to_date_base", "expected"]].sum()
    lines = lines.join(plans, on="customer_id")
    alerts = build.query("select customer_id from key_account_alerts").value_counts("customer_id")
    lines["alerts"] = lines["customer_id"].map(alerts).fillna(0)
    for col in ("revenue_t12m", "gross_margin_t12m", "revenue_prior_12m", "gross_margin_prior_12m"):
        lines[col] = lines[col].fillna(0).astype(float)
    return lines


def _scorecards(lines: pd.DataFrame, by: str) -> pd.DataFrame:
    g = lines.dropna(subset=[by]).groupby(by)
    out = pd.DataFrame(
        {
            "customer_count": g.size(),
            "class_a_count": g["abc_class"].apply(lambda s: (s == "A").sum()),
            "class_b_count": g["abc_class"].apply(lambda s: (s == "B").sum()),
            "class_c_count": g["abc_class"].apply(lambda s: (s == "C").sum()),
            "core_count": g["value_quadrant"].apply(lambda s: (s == "core").sum()),
            "inferior_count": g["value_quadrant"].apply(lambda s: (s == "inferior").sum()),
            "key_account_count": g["is_key"].sum(),
            "revenue_t12m": g["revenue_t12m"].sum(),
            "gross_margin_t12m": g["gross_margin_t12m"].sum(),
            "revenue_prior_12m": g["revenue_prior_12m"].sum(),
            "gross_margin_prior_12m": g["gross_margin_prior_12m"].sum(),
            "prior_class_a_count": g["was_a"].sum(),
            "retained_class_a_count": g.apply(lambda f: (f.was_a & (f.abc_class == "A")).sum()),
            "key_accounts_touched": g["touched"].sum(),
            "alerts_raised": g["alerts"].sum(),
        }
    )
    prior = out["gross_margin_prior_12m"]
    growth = (out["gross_margin_t12m"] - prior) / prior.where(prior > 0)
    expected = g["expected"].sum(min_count=1)
    pace = g["margin_to_date_base"].sum(min_count=1) / expected.where(expected > 0)
    keys = out["key_account_count"].where(out["key_account_count"] > 0)
    components = pd.DataFrame(
        {
            "margin_growth": (50 + 50 * growth / VARS["scorecard_growth_full_share"]).clip(0, 100),
            "plan_pace": 100 * pace.clip(upper=1),
            "touchpoint_coverage": 100 * out["key_accounts_touched"] / keys,
            "key_account_health": g.apply(lambda f: f.loc[f.is_key, "health_score"].mean()),
            "a_account_retention": 100
            * out["retained_class_a_count"]
            / out["prior_class_a_count"].where(out["prior_class_a_count"] > 0),
        }
    )
    weights = pd.Series(VARS["scorecard_weights"], dtype=float)
    weighted = components[weights.index].mul(weights).sum(axis=1, min_count=1)
    weight_sum = components[weights.index].notna().mul(weights).sum(axis=1)
    out["scorecard_score"] = (weighted / weight_sum.where(weight_sum > 0)).round(2)
    for name in weights.index:
        out[f"{name}_score"] = components[name]
    return out


@pytest.fixture(scope="module")
def scorecards(build: Build) -> pd.DataFrame:
    return build.query("select * from account_manager_scorecards")


@pytest.mark.parametrize("grain, by", [("owner", "owner_id"), ("manager", "manager_email")])
def test_scorecards_equal_a_pandas_recomputation(
    build: Build, scorecards: pd.DataFrame, grain: str, by: str
) -> None:
    expected = _scorecards(_lines(build), by).sort_index()
    got = scorecards[scorecards["grain"] == grain].set_index("subject_id").sort_index()
    assert list(got.index) == list(expected.index) and len(got) >= 2
    for col in expected.columns:
        np.testing.assert_allclose(
            got[col].astype(float),
            expected[col].astype(float),
            rtol=1e-9,
            atol=1e-6,
            err_msg=f"{grain} {col}",
        )
    # the demo gives every owner a scored portfolio, with spread, plans and last year's A accounts
    assert got["scorecard_score"].notna().all() and got["scorecard_score"].nunique() > 1
    assert got["key_account_count"].sum() > 0 and got["plan_pace_score"].notna().any()
    assert got["class_a_retention_share"].between(0, 1).any()
    assert (got["scorecard_key"] == grain + ":" + got.index.to_series()).all()


def test_manager_rows_roll_up_their_owners(scorecards: pd.DataFrame) -> None:
    owners = scorecards[scorecards["grain"] == "owner"]
    managers = scorecards[scorecards["grain"] == "manager"].set_index("subject_id")
    summed = owners.groupby("manager_email")[
        ["customer_count", "class_a_count", "key_account_count", "revenue_t12m", "alerts_raised"]
    ].sum()
    pd.testing.assert_frame_equal(
        managers.loc[summed.index, summed.columns].astype(float),
        summed.astype(float),
        check_names=False,
    )
    counts = owners.groupby("manager_email").size()
    assert (managers.loc[counts.index, "account_manager_count"] == counts).all()


def test_gx_suite_passes_on_the_build_and_catches_a_broken_score(
    build: Build, scorecards: pd.DataFrame, tmp_path: Path
) -> None:
    from expectations import MART_SUITES, account_manager_scorecards
    from kam_transforms.validate import validate_marts

    assert account_manager_scorecards in MART_SUITES
    report = validate_marts(
        build.db_path, "main", AS_OF,
        serving_db=tmp_path / "serving.duckdb", audit_db=tmp_path / "audit.duckdb",
        reports_dir=tmp_path / "reports", gx_root=tmp_path / "gx", run_id="scorecards",
        suites=(account_manager_scorecards,),
    )  # fmt: skip
    assert report.success, report.as_dict()["failed"]
    mine = [o for o in report.outcomes if o.suite == "account_manager_scorecards"]
    assert len(mine) >= 20 and all(o.success for o in mine)

    broken = scorecards.copy()
    broken.loc[broken.index[0], "scorecard_score"] = 101.0
    broken.loc[broken.index[1], "class_a_count"] += 1
    checked = account_manager_scorecards.prepare(broken)
    assert list(checked["score_within_components"]).count(False) == 1
    assert not checked.loc[broken.index[0], "score_within_components"]
    assert list(checked["classes_add_up"]).count(False) == 1


def test_published_to_serving_with_its_column_docs(
    build: Build, scorecards: pd.DataFrame, tmp_path: Path
) -> None:
    import duckdb

    from kam_transforms.warehouse import mart_relations, publish

    relations = [
        r
        for r in mart_relations(build.root / "target" / "manifest.json")
        if r.name == "account_manager_scorecards"
    ]
    assert len(relations) == 1
    serving = tmp_path / "serving.duckdb"
    counts = publish(build.db_path, serving, relations, AS_OF, "scorecards")
    assert list(counts.values()) == [len(scorecards)]
    with duckdb.connect(str(serving), read_only=True) as con:
        comments = dict(
            con.execute(
                "select column_name, comment from duckdb_columns() "
                "where table_name = 'account_manager_scorecards'"
            ).fetchall()
        )
    assert set(comments) == set(scorecards.columns)
    assert all(comments.values()), [c for c, text in comments.items() if not text]


@pytest.mark.parametrize("scenario", ["churned", "lost_a_account"])
def test_planted_lost_a_accounts_count_against_their_owners(
    build: Build, scorecards: pd.DataFrame, scenario: str
) -> None:
    """The demo's planted churned customer (no order for 13+ months) and its lost A account
    (a twentieth of its quantities for the last 100 days, kam_transforms/demo_portfolio.py)
    were class A in the prior window: their owners' scorecards count each as last year's A
    account not retained (the key account lost shows between two month-ends:
    tests/test_dbt_backfill.py)."""
    planted = build.manifest["scenarios"][scenario]
    facts = build.query(
        "select customer_id, gross_margin_prior_12m, revenue_prior_12m, gross_margin_t12m "
        "from customer_facts where customer_id is not null"
    )
    assert _prior_class_a(facts)[planted["customer_id"]]
    tiers = build.query("select customer_id, abc_class from customer_tiers")
    assert tiers.set_index("customer_id").loc[planted["customer_id"], "abc_class"] != "A"
    row = scorecards.set_index("scorecard_key").loc[f"owner:{planted['owner_id']}"]
    assert row["retained_class_a_count"] < row["prior_class_a_count"]
    assert row["class_a_retention_share"] < 1 and row["a_account_retention_score"] < 100
