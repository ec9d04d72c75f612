"""The key_account_alerts rules on a real build of the demo data set.

One module-scoped build: the demo generator writes a 300-customer export as of AS_OF with
its planted scenarios (``scenarios.json``), the file-drop extractor lands it, and
``kam_transforms.pipeline.dbt_build`` runs ``dbt build`` (models, data tests and the rule
unit tests) into a private KAM_HOME. The tests then check that every planted scenario
raised its rule with the right type and severity, that the negative controls stay quiet,
that no rule floods the customers, and that several rules agree with an independent pandas
recomputation from the marts they read.

The near misses of each rule (threshold - 1 vs threshold + 1) are the dbt unit tests in
``dbt_project/models/intermediate/alerts/_alerts__unit_tests.yml``, which this build runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

AS_OF = date(2026, 10, 31)
CUSTOMERS = 300
SEED = 11

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

#: rule_id -> alert_type (docs/CONTRACTS.md types).
RULE_TYPES = {
    "account_manager_change": "relationship",
    "key_contact_left": "relationship",
    "no_touchpoint": "relationship",
    "competitor_loss": "risk",
    "revenue_decline": "risk",
    "order_cadence_gap": "risk",
    "complaint_past_sla": "service",
    "overdue_invoices": "payment",
    "health_band_drop": "lifecycle",
    "entered_decline": "lifecycle",
    "low_p_alive": "lifecycle",
    "dropped_out_of_class_a": "tier_change",
    "promoted_to_class_a": "tier_change",
    "potential_toward_core": "opportunity",
    "squeeze_score_high": "risk",
    "whitespace_opportunity": "opportunity",
    "plan_behind_pace": "risk",
    "competitor_in_key_accounts": "risk",
}
#: Rules whose dedup key carries a subject (customer|rule|subject).
RULES_WITH_SUBJECT = {"account_manager_change", "key_contact_left", "competitor_loss",
                      "complaint_past_sla", "whitespace_opportunity", "plan_behind_pace",
                      "competitor_in_key_accounts"}  # fmt: skip


@dataclass(frozen=True)
class Build:
    db_path: Path
    manifest: dict[str, Any]
    summary: dict[str, Any]

    def query(self, sql: str) -> pd.DataFrame:
        import duckdb

        with duckdb.connect(str(self.db_path), read_only=True) as con:
            return con.execute(sql).df()


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Build]:
    from kam_transforms import demo_data
    from kam_transforms.config import Settings
    from kam_transforms.extract import land_exports
    from kam_transforms.pipeline import dbt_build

    home = tmp_path_factory.mktemp("alert_rules") / "kam"
    with pytest.MonkeyPatch.context() as patch:
        for var in ("KAM_EXPORTS_DIR", "KAM_LAKE_DIR", "KAM_BUILD_DB", "KAM_SERVING_DB",
                    "KAM_OUTBOX_DIR", "KAM_REPORTS_DIR"):  # fmt: skip
            patch.delenv(var, raising=False)
        patch.setenv("KAM_HOME", str(home))
        settings = Settings.from_env()
        manifest = demo_data.generate(settings.exports_dir, CUSTOMERS, SEED, AS_OF)
        land_exports(settings.exports_dir, settings.lake_dir, AS_OF)
        summary = dbt_build(settings, AS_OF)
        yield Build(settings.build_db, manifest, summary)


@pytest.fixture(scope="module")
def alerts(build: Build) -> pd.DataFrame:
    return build.query("select * from key_account_alerts order by dedup_key")


def values(evidence: str) -> dict[str, Any]:
    """The values of typed evidence (``{"key": {"value": v, "unit": u, ...}}``)."""
    parsed = json.loads(evidence)
    assert all(isinstance(item, dict) and "unit" in item for item in parsed.values()), parsed
    return {key: item["value"] for key, item in parsed.items()}


def scenario_alerts(build: Build, alerts: pd.DataFrame, scenario: str) -> pd.DataFrame:
    customer_id = build.manifest["scenarios"][scenario]["customer_id"]
    return alerts[alerts["customer_id"] == customer_id]


def only_alert(build: Build, alerts: pd.DataFrame, scenario: str, rule_id: str) -> pd.Series:
    rows = scenario_alerts(build, alerts, scenario)
    hits = rows[rows["rule_id"] == rule_id]
    assert len(hits) == 1, (
        f"{scenario}: expected one {rule_id}, got\n"
        + rows[["dedup_key", "severity", "reason"]].to_string()
    )
    return hits.iloc[0]


def test_the_build_ran_the_rule_unit_tests(build: Build) -> None:
    nodes = build.summary["nodes"]
    assert nodes.get("error", 0) == 0 and nodes.get("fail", 0) == 0 and nodes["pass"] > 0
    rules = set(build.query("select distinct rule_id from key_account_alerts")["rule_id"])
    assert rules <= set(RULE_TYPES)


# --------------------------------------------------------------------------- planted cases

#: scenario -> (rule_id, severity); each planted account raises its rule.
PLANTED = [
    ("declining_key_account", "revenue_decline", "high"),
    ("declining_key_account", "order_cadence_gap", "high"),
    ("account_manager_change", "account_manager_change", "high"),
    ("competitor_loss", "competitor_loss", "high"),
    ("overdue_invoices", "overdue_invoices", "high"),
    ("unresolved_complaint", "complaint_past_sla", "high"),
    ("no_recent_touchpoint", "no_touchpoint", "high"),
    ("inactive_owner_account", "no_touchpoint", "high"),
    ("fast_growing_potential", "potential_toward_core", "low"),
    ("squeezing_large_account", "squeeze_score_high", "high"),
    ("key_account_missing_category", "whitespace_opportunity", "low"),
]


@pytest.mark.parametrize(("scenario", "rule_id", "severity"), PLANTED)
def test_planted_scenario_raises_its_rule(
    build: Build, alerts: pd.DataFrame, scenario: str, rule_id: str, severity: str
) -> None:
    planted = build.manifest["scenarios"][scenario]
    alert = only_alert(build, alerts, scenario, rule_id)
    assert alert["alert_type"] == RULE_TYPES[rule_id]
    assert alert["severity"] == severity, alert["reason"]
    assert alert["account_id"] == planted["account_id"]
    assert alert["customer_name"] == planted["account_name"]
    assert alert["owner_id"] == planted["owner_id"]
    assert alert["dedup_key"].startswith(f"{planted['customer_id']}|{rule_id}")
    assert isinstance(json.loads(alert["evidence"]), dict)


def test_key_contact_left_names_the_departed_decision_maker(
    build: Build, alerts: pd.DataFrame
) -> None:
    alert = only_alert(build, alerts, "key_contact_left", "key_contact_left")
    evidence = values(alert["evidence"])
    # planted 40 days before the run date; high only when no decision maker is left
    assert evidence["days_since_left"] == 40
    assert alert["severity"] == (
        "high" if evidence["active_decision_maker_count"] == 0 else "medium"
    )
    contacts = build.query("select * from main_staging.stg_crm__contacts")
    contact = contacts[contacts["contact_id"] == evidence["contact_id"]]
    assert len(contact) == 1
    assert bool(contact["is_decision_maker"].iloc[0]) and not bool(contact["is_active"].iloc[0])
    assert alert["dedup_key"] == f"{alert['customer_id']}|key_contact_left|{evidence['contact_id']}"


def test_subjects_separate_conditions(build: Build, alerts: pd.DataFrame) -> None:
    manager = only_alert(build, alerts, "account_manager_change", "account_manager_change")
    planted = build.manifest["scenarios"]["account_manager_change"]
    assert (
        manager["dedup_key"]
        == f"{planted['customer_id']}|account_manager_change|{planted['owner_id']}"
    )
    assert values(manager["evidence"])["days_since_assigned"] == 45

    loss = only_alert(build, alerts, "competitor_loss", "competitor_loss")
    evidence = values(loss["evidence"])
    assert evidence["competitor"] == "Globex Corporation" and evidence["days_since_lost"] == 30
    assert loss["dedup_key"].endswith(f"|competitor_loss|{evidence['opportunity_id']}")
    assert "Globex Corporation" in loss["reason"]

    complaint = only_alert(build, alerts, "unresolved_complaint", "complaint_past_sla")
    evidence = values(complaint["evidence"])
    assert evidence["priority"] == "high" and evidence["days_open"] == 45
    assert complaint["dedup_key"].endswith(f"|complaint_past_sla|{evidence['ticket_id']}")


def test_negative_controls_stay_quiet(build: Build, alerts: pd.DataFrame) -> None:
    churned = scenario_alerts(build, alerts, "churned")
    assert churned.empty, churned[["rule_id", "reason"]].to_string()
    assert build.manifest["scenarios"]["prospect"]["customer_id"] is None
    assert not alerts["account_id"].eq(build.manifest["scenarios"]["prospect"]["account_id"]).any()
    # the first run has no previous health band to drop from
    assert not alerts["rule_id"].eq("health_band_drop").any()


def test_inactive_owner_is_routed_as_inactive(build: Build, alerts: pd.DataFrame) -> None:
    rows = scenario_alerts(build, alerts, "inactive_owner_account")
    assert not rows.empty and not rows["owner_is_active"].any()


# --------------------------------------------------------------------------- whole-table checks


def test_no_rule_floods(build: Build, alerts: pd.DataFrame) -> None:
    customers = len(build.query("select customer_id from customer_tiers"))
    per_rule = alerts.groupby("rule_id")["customer_id"].nunique()
    assert (per_rule < 0.20 * customers).all(), per_rule.to_string()
    assert alerts["customer_id"].nunique() < 0.35 * customers


def test_rows_follow_the_contract(alerts: pd.DataFrame) -> None:
    assert not alerts.empty
    assert (alerts["alert_type"] == alerts["rule_id"].map(RULE_TYPES)).all()
    assert alerts["severity"].isin(["low", "medium", "high"]).all()
    assert alerts["owner_locale"].isin(["en", "zh-CN"]).all()
    for row in alerts.itertuples():
        parts = row.dedup_key.split("|")
        assert parts[:2] == [row.customer_id, row.rule_id]
        assert len(parts) == (3 if row.rule_id in RULES_WITH_SUBJECT else 2), row.dedup_key
        assert isinstance(json.loads(row.evidence), dict)
        assert row.reason.endswith(".") and "None" not in row.reason


def _key_accounts(build: Build) -> pd.DataFrame:
    return build.query(
        "select tiers.customer_id, tiers.abc_class, customers.account_id "
        "from customer_tiers as tiers left join dim_customers as customers using (customer_id) "
        "where tiers.abc_class = 'A' or tiers.is_key_account"
    )


def fired(alerts: pd.DataFrame, rule_id: str) -> set[str]:
    return set(alerts.loc[alerts["rule_id"] == rule_id, "customer_id"])


def test_tier_changes_match_customer_tiers(build: Build, alerts: pd.DataFrame) -> None:
    tiers = build.query("select customer_id, abc_class, previous_abc_class from customer_tiers")
    promoted = tiers[(tiers["abc_class"] == "A") & tiers["previous_abc_class"].isin(["B", "C"])]
    dropped = tiers[(tiers["previous_abc_class"] == "A") & (tiers["abc_class"] != "A")]
    assert fired(alerts, "promoted_to_class_a") == set(promoted["customer_id"])
    assert fired(alerts, "dropped_out_of_class_a") == set(dropped["customer_id"])


def test_no_touchpoint_matches_the_facts(build: Build, alerts: pd.DataFrame) -> None:
    facts = build.query(
        "select tiers.customer_id, tiers.abc_class, facts.days_since_last_touchpoint "
        "from customer_tiers as tiers "
        "inner join dim_customers as customers using (customer_id) "
        "left join customer_facts as facts using (customer_id) "
        "where customers.account_id is not null"
    )
    limit = facts["abc_class"].map({"A": 60, "B": 120})
    due = facts[limit.notna() & ~(facts["days_since_last_touchpoint"] <= limit)]
    assert fired(alerts, "no_touchpoint") == set(due["customer_id"])


def test_overdue_and_cadence_match_the_marts(build: Build, alerts: pd.DataFrame) -> None:
    key = set(_key_accounts(build)["customer_id"])
    facts = build.query(
        "select customer_id, overdue_amount_base, max_days_overdue from customer_facts"
    )
    overdue = facts[(facts["overdue_amount_base"] > 50_000) | (facts["max_days_overdue"] > 90)]
    assert fired(alerts, "overdue_invoices") == set(overdue["customer_id"]) & key

    life = build.query("select * from customer_lifecycle where customer_id is not null")
    gap = life[
        (life["order_count_total"] >= 4)
        & (life["lifecycle_stage"] != "churned")
        & (life["recency_days"] / life["usual_order_interval_days"].clip(lower=1.0) > 3)
    ]
    assert fired(alerts, "order_cadence_gap") == set(gap["customer_id"]) & key


def test_low_p_alive_matches_the_clv_model(build: Build, alerts: pd.DataFrame) -> None:
    key = set(_key_accounts(build)["customer_id"])
    clv = build.query(
        "select customer_id, p_alive, is_fallback from customer_clv"
    )
    low = clv[(clv["p_alive"] < 0.5) & ~clv["is_fallback"].fillna(False).astype(bool)]
    assert fired(alerts, "low_p_alive") == set(low["customer_id"]) & key
    # the churned demo customer has a low P(alive) but is no key account
    churned = build.manifest["scenarios"]["churned"]["customer_id"]
    assert churned in set(low["customer_id"]) and churned not in key
