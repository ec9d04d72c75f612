"""The KAM-programme alert rules on the session build (tests/dbt_build.py, 400 demo customers):
the planted plan behind pace and the planted competitor entering four key accounts raise their
alerts on the right accounts, and both rules agree with pandas recomputations from the mart
``account_plan_attainment`` and from the landed opportunities.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pandas as pd
from dbt_build import AS_OF, Build

from kam_transforms.demo_competitors import ENTRANT

BEHIND_GAP = 0.15  # dbt_project.yml plan_behind_pace_gap
HIGH_GAP = 0.30  # alert_plan_behind_high_pace_gap
ENTRY_DAYS = 365  # alert_competitor_entry_days
ENTRY_MIN_ACCOUNTS = 3  # alert_competitor_entry_min_accounts


def _alerts(build: Build, rule: str) -> pd.DataFrame:
    return build.query(
        "select customer_id, account_id, split_part(dedup_key, '|', 3) as alert_subject, "  # noqa: S608
        "severity, evidence "
        f"from key_account_alerts where rule_id = '{rule}'"
    )


def test_plan_behind_pace_fires_on_the_planted_plan_and_only_on_behind_plans(
    build: Build,
) -> None:
    alerts = _alerts(build, "plan_behind_pace")
    mart = build.query("select * from account_plan_attainment")
    as_of = pd.Timestamp(AS_OF)
    expected = mart[
        (mart["plan_status"] == "active")
        & mart["is_key_account"].astype(bool)
        & (pd.to_datetime(mart["period_start"]) <= as_of)
        & (pd.to_datetime(mart["period_end"]) >= as_of)
        & (mart["pace_gap"] < -BEHIND_GAP)
    ]
    assert len(expected) > 0
    assert sorted(alerts["alert_subject"]) == sorted(expected["plan_id"])
    by_plan = expected.set_index("plan_id")
    for row in alerts.itertuples():
        plan = by_plan.loc[row.alert_subject]
        assert row.customer_id == plan["customer_id"]
        high = plan["abc_class"] == "A" and plan["pace_gap"] < -HIGH_GAP
        assert row.severity == ("high" if high else "medium")
        evidence = json.loads(row.evidence)
        assert evidence["pace_gap"]["value"] == round(plan["pace_gap"], 4)
        assert evidence["threshold_gap"]["value"] == BEHIND_GAP
    planted = build.manifest["scenarios"]["plan_behind_pace"]
    hits = alerts[alerts["account_id"] == planted["account_id"]]
    assert len(hits) == 1 and hits.iloc[0]["customer_id"] == planted["customer_id"]


def test_competitor_in_key_accounts_fires_on_the_planted_entrant(build: Build) -> None:
    alerts = _alerts(build, "competitor_in_key_accounts")
    # recompute from the landed opportunities (latest version per id)
    opps = build.landed("crm", "opportunities")
    opps = opps.sort_values("updated_at").drop_duplicates("opportunity_id", keep="last")
    opps["competitor"] = opps["competitor"].astype("string").str.strip()
    opps = opps[opps["competitor"].fillna("") != ""]
    named = pd.to_datetime(opps["closed_at"], utc=True).fillna(
        pd.to_datetime(opps["updated_at"], utc=True)
    )
    opps = opps.assign(named_date=named.dt.tz_convert(None).dt.normalize())
    keys = build.query(
        "select c.account_id, c.customer_id from dim_customers c "
        "join customer_tiers t on c.customer_id = t.customer_id "
        "where t.abc_class = 'A' or coalesce(t.is_key_account, false)"
    )
    opps = opps.merge(keys, on="account_id")
    opps = opps[opps["named_date"] <= pd.Timestamp(AS_OF)]
    first = opps.groupby(["customer_id", "competitor"])["named_date"].min().reset_index()
    since = pd.Timestamp(AS_OF - timedelta(days=ENTRY_DAYS))
    before = first[first["named_date"] <= since].groupby("competitor").size()
    recent = first[first["named_date"] > since]
    counts = recent.groupby("competitor")["customer_id"].transform("size")
    prior = recent["competitor"].map(before).fillna(0)
    expected = recent[(counts >= ENTRY_MIN_ACCOUNTS) & (prior < ENTRY_MIN_ACCOUNTS)]
    got = set(zip(alerts["customer_id"], alerts["alert_subject"], strict=True))
    assert got == set(zip(expected["customer_id"], expected["competitor"], strict=True))
    # the demo's established competitors keep entering accounts too, but are not new
    assert set(alerts["alert_subject"]) == {ENTRANT}
    # the planted entrant: four key accounts, all won deals (medium), the planted one among them
    entrant = alerts[alerts["alert_subject"] == ENTRANT]
    planted = build.manifest["scenarios"]["competitor_in_key_accounts"]
    assert len(entrant) == 4 and planted["customer_id"] in set(entrant["customer_id"])
    assert set(entrant["severity"]) == {"medium"}
    evidence = json.loads(entrant.iloc[0]["evidence"])
    assert evidence["entered_account_count"]["value"] == 4
    assert evidence["opportunities_lost"]["value"] == 0
    assert evidence["prior_account_count"]["value"] == 0
