"""competitor_analysis and customer_competitors against a pandas recomputation from the landed
Parquet (opportunities, accounts, fx rates) on the session demo build (tests/dbt_build.py).

Only the key-account flag and the trailing-12-month margin come from the build
(customer_tiers, tested against its own recomputation).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from dbt_build import AS_OF, Build
from test_account_plans import _latest, _rate_on, known_fx

AS_OF_TS = pd.Timestamp(AS_OF)


def _opportunities(build: Build) -> pd.DataFrame:
    fx = known_fx(build)
    opp = _latest(build.landed("crm", "opportunities"), "opportunity_id")
    opp["competitor"] = opp["competitor"].str.strip()
    opp = opp[opp["competitor"].fillna("") != ""].copy()
    accounts = _latest(build.landed("crm", "accounts"), "account_id")
    opp = opp.merge(
        accounts[["account_id", "erp_customer_id"]].rename(
            columns={"erp_customer_id": "customer_id"}
        ),
        on="account_id",
        how="left",
    )
    closed = pd.to_datetime(opp["closed_at"].str[:10])
    won = opp["is_won"].fillna("false").str.lower() == "true"
    opp["outcome"] = np.where(closed.isna(), "open", np.where(won, "won", "lost"))
    opp["rate_date"] = closed.fillna(AS_OF_TS)
    opp["amount_base"] = opp["amount"].astype(float) * _rate_on(fx, opp, "currency", "rate_date")
    trailing = (closed > AS_OF_TS - pd.DateOffset(months=12)) & (closed <= AS_OF_TS)
    prior = (closed > AS_OF_TS - pd.DateOffset(months=24)) & (
        closed <= AS_OF_TS - pd.DateOffset(months=12)
    )
    opp["window"] = np.select([trailing, prior], ["t12m", "prior"], "")
    tiers = build.query(
        "select customer_id, abc_class, is_key_account, gross_margin_t12m from customer_tiers"
    )
    tiers["is_key"] = (tiers["abc_class"] == "A") | tiers["is_key_account"].fillna(False)
    opp = opp.merge(
        tiers[["customer_id", "is_key", "gross_margin_t12m"]], on="customer_id", how="left"
    )
    opp["is_key"] = opp["is_key"].fillna(False).astype(bool)
    return opp


def _count(opp: pd.DataFrame, by: list[str], mask: pd.Series, col: str | None = None) -> pd.Series:
    values = opp[col] if col else pd.Series(1.0, index=opp.index)
    return values.where(mask, 0.0).groupby([opp[b] for b in by]).sum()


@pytest.fixture(scope="module")
def opportunities(build: Build) -> pd.DataFrame:
    return _opportunities(build)


def test_competitor_analysis_equals_a_pandas_recomputation(
    build: Build, opportunities: pd.DataFrame
) -> None:
    opp = opportunities
    by = ["competitor"]
    expected = pd.DataFrame(
        {
            "opportunities_won_t12m": _count(
                opp, by, (opp.outcome == "won") & (opp.window == "t12m")
            ),
            "opportunities_lost_t12m": _count(
                opp, by, (opp.outcome == "lost") & (opp.window == "t12m")
            ),
            "amount_won_base_t12m": _count(
                opp, by, (opp.outcome == "won") & (opp.window == "t12m"), "amount_base"
            ),
            "amount_lost_base_t12m": _count(
                opp, by, (opp.outcome == "lost") & (opp.window == "t12m"), "amount_base"
            ),
            "opportunities_won_prior_12m": _count(
                opp, by, (opp.outcome == "won") & (opp.window == "prior")
            ),
            "opportunities_lost_prior_12m": _count(
                opp, by, (opp.outcome == "lost") & (opp.window == "prior")
            ),
            "open_opportunities": _count(opp, by, opp.outcome == "open"),
        }
    )
    closed = expected["opportunities_won_t12m"] + expected["opportunities_lost_t12m"]
    expected["win_rate_t12m"] = expected["opportunities_won_t12m"] / closed.where(closed > 0)
    closed_prior = (
        expected["opportunities_won_prior_12m"] + expected["opportunities_lost_prior_12m"]
    )
    expected["win_rate_prior_12m"] = expected["opportunities_won_prior_12m"] / closed_prior.where(
        closed_prior > 0
    )
    key = opp[opp["is_key"]]
    present = key[(key.outcome == "open") | (key.window == "t12m")]
    expected["key_accounts_present"] = present.groupby("competitor")["customer_id"].nunique()
    expected["key_accounts_present_prior_12m"] = (
        key[key.window == "prior"].groupby("competitor")["customer_id"].nunique()
    )
    stake = present.drop_duplicates(["competitor", "customer_id"])
    expected["margin_at_stake_base"] = stake.groupby("competitor")["gross_margin_t12m"].sum()
    expected = expected.fillna(
        {"key_accounts_present": 0, "key_accounts_present_prior_12m": 0, "margin_at_stake_base": 0}
    ).sort_index()

    got = build.query("select * from competitor_analysis").set_index("competitor").sort_index()
    assert list(got.index) == list(expected.index) and len(got) >= 5
    for col in expected.columns:
        np.testing.assert_allclose(
            got[col].astype(float), expected[col].astype(float), rtol=1e-9, atol=1e-6, err_msg=col
        )
    np.testing.assert_allclose(
        got["win_rate_change"].astype(float),
        (expected["win_rate_t12m"] - expected["win_rate_prior_12m"]).astype(float),
        rtol=1e-9,
        atol=1e-9,
    )
    # the demo names competitors on won and lost deals: real win rates, between 0 and 1
    assert got["opportunities_won_t12m"].sum() > 0 and got["opportunities_lost_t12m"].sum() > 0
    assert ((got["win_rate_t12m"] > 0) & (got["win_rate_t12m"] < 1)).any()
    # the planted competitor loss counts against its competitor
    planted = build.manifest["scenarios"]["competitor_loss"]["customer_id"]
    assert planted in set(present[present.competitor == "Globex Corporation"]["customer_id"])


def test_customer_competitors_equals_a_pandas_recomputation(
    build: Build, opportunities: pd.DataFrame
) -> None:
    opp = opportunities[opportunities["is_key"]]
    by = ["customer_id", "competitor"]
    expected = pd.DataFrame(
        {
            "opportunities_won_t12m": _count(
                opp, by, (opp.outcome == "won") & (opp.window == "t12m")
            ),
            "opportunities_lost_t12m": _count(
                opp, by, (opp.outcome == "lost") & (opp.window == "t12m")
            ),
            "amount_lost_base_t12m": _count(
                opp, by, (opp.outcome == "lost") & (opp.window == "t12m"), "amount_base"
            ),
            "opportunities_won": _count(opp, by, opp.outcome == "won"),
            "opportunities_lost": _count(opp, by, opp.outcome == "lost"),
            "open_opportunities": _count(opp, by, opp.outcome == "open"),
        }
    )
    expected["is_present"] = (
        expected["open_opportunities"]
        + expected["opportunities_won_t12m"]
        + expected["opportunities_lost_t12m"]
    ) > 0
    expected = expected.sort_index()
    got = (
        build.query("select * from customer_competitors")
        .set_index(["customer_id", "competitor"])
        .sort_index()
    )
    assert list(got.index) == list(expected.index) and len(got) > 20
    for col in expected.columns:
        np.testing.assert_allclose(
            got[col].astype(float), expected[col].astype(float), rtol=1e-9, atol=1e-6, err_msg=col
        )
    margin = build.query("select customer_id, gross_margin_t12m from customer_tiers").set_index(
        "customer_id"
    )["gross_margin_t12m"]
    np.testing.assert_allclose(
        got["margin_at_stake_base"].astype(float),
        got.index.get_level_values("customer_id").map(margin).astype(float),
        rtol=1e-9,
    )
    assert (got["customer_competitor_key"] == [f"{c}|{k}" for c, k in got.index]).all()


def test_the_planted_entrant_is_present_in_four_key_accounts(build: Build) -> None:
    from kam_transforms.demo_competitors import ENTRANT

    row = build.query(
        f"select * from competitor_analysis where competitor = '{ENTRANT}'"  # noqa: S608
    ).iloc[0]
    assert (row["key_accounts_present"], row["key_accounts_present_prior_12m"]) == (4, 0)
    assert (row["opportunities_won_t12m"], row["opportunities_lost_t12m"]) == (4, 0)
    assert row["win_rate_t12m"] == 1.0 and row["key_accounts_present_change"] == 4
    accounts = build.query(
        "select customer_id from customer_competitors "  # noqa: S608
        f"where competitor = '{ENTRANT}' and is_present"
    )["customer_id"]
    planted = build.manifest["scenarios"]["competitor_in_key_accounts"]["customer_id"]
    assert len(accounts) == 4 and planted in set(accounts)
