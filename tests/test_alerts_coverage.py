"""Coverage-aware alert rules on a real run: a demo export whose CRM has header-only
``activities.csv`` and ``tickets.csv`` (declared ``allow_empty``: nothing of either ever
landed) is landed, built, validated, published and alerted with the pipeline's own steps.

Before the fix the same data raised ``no_touchpoint`` on every key account (no activity at
all reads as "none for ever") and scored every customer 100 on open complaints; now the
rules do not fire, the health components are unknown, the data team gets one coverage
warning and the run summary and validation report name the inactive rules."""

from __future__ import annotations

import email
import email.policy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from kam_transforms.config import Settings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
AS_OF = date(2026, 10, 31)
DATA_TEAM = "data-team@kam.example.com"
REASONS = {
    "no_touchpoint": "no_touchpoint (alert rule) inactive: "
    "no crm/activities row ever landed up to 2026-10-31",
    "complaint_past_sla": "complaint_past_sla (alert rule) inactive: "
    "no crm/tickets row ever landed up to 2026-10-31",
}


@dataclass(frozen=True)
class Run:
    settings: Settings
    sent: dict[str, Any]
    resent: dict[str, Any]
    summary: dict[str, Any]


def header_only(path: Path) -> None:
    path.write_text(path.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    from kam_transforms.alert_step import send_alerts
    from kam_transforms.demo_data import generate
    from kam_transforms.extract import land_exports
    from kam_transforms.pipeline import dbt_build, publish_marts, summarize, validate_build

    home = tmp_path_factory.mktemp("coverage")
    with pytest.MonkeyPatch.context() as patch:
        for key in [k for k in __import__("os").environ if k.startswith("KAM_")]:
            patch.delenv(key)
        patch.setenv("KAM_HOME", str(home))
        patch.setenv("KAM_DATA_TEAM_EMAIL", DATA_TEAM)
        settings = Settings.from_env()
        generate(settings.exports_dir, 150, 11, AS_OF)
        header_only(settings.exports_dir / "crm" / "activities.csv")
        header_only(settings.exports_dir / "crm" / "tickets.csv")
        # a CRM that really holds no activities or tickets says so (else landing refuses
        # an empty full snapshot, which would delete every key)
        (settings.exports_dir / "crm" / "_export.json").write_text(
            json.dumps({"entities": {"activities": {"allow_empty": True},
                                     "tickets": {"allow_empty": True}}}),
            encoding="utf-8",
        )  # fmt: skip
        land_exports(settings.exports_dir, settings.lake_dir, AS_OF)
        built = dbt_build(settings, AS_OF)
        validate_build(settings, AS_OF, "run-1", build_id=built["build_id"])
        publish_marts(settings, AS_OF, "run-1", build_id=built["build_id"])
        sent = send_alerts(settings, AS_OF)
        resent = send_alerts(settings, AS_OF)  # a rerun of the date (task retry)
        yield Run(settings, sent, resent, summarize(settings, AS_OF))


def query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def messages(settings: Settings, pattern: str) -> list[email.message.EmailMessage]:
    found = []
    for path in sorted(settings.outbox_dir.glob(pattern)):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(msg, email.message.EmailMessage)
        found.append(msg)
    return found


def body(msg: email.message.EmailMessage) -> str:
    part = msg.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def test_rules_without_their_input_raise_no_per_account_alert(run: Run) -> None:
    settings = run.settings
    # the rule itself still sees every class A and B account as "no touchpoint ever" ...
    detected = query(
        settings.build_db,
        "select count(*), count(distinct customer_id) from "
        "main_intermediate.int_relationship_alerts_detected where rule_id = 'no_touchpoint'",
    )[0]
    a_and_b_accounts = query(
        settings.serving_db,
        "select count(*) from customer_tiers inner join dim_customers using (customer_id) "
        "where dim_customers.account_id is not null and customer_tiers.abc_class in ('A', 'B')",
    )[0][0]
    assert detected[0] == detected[1] == a_and_b_accounts > 0
    # ... but none of it reaches the mart or a digest
    by_rule = dict(
        query(settings.serving_db, "select rule_id, count(*) from key_account_alerts group by 1")
    )
    assert "no_touchpoint" not in by_rule and "complaint_past_sla" not in by_rule
    assert sum(by_rule.values()) == run.sent["alerts_in_frame"] > 0  # other rules still fire
    digests = messages(settings, "kam.20261031.*.eml")
    assert len(digests) == run.sent["digests_written"] > 0
    assert not any("touchpoint" in body(m).lower() for m in digests)


def test_one_coverage_warning_to_the_data_team_names_the_entities(run: Run) -> None:
    (warning,) = messages(run.settings, "kam.coverage.*.eml")  # one, after two sends
    assert run.sent["data_coverage_warning"] == run.resent["data_coverage_warning"]
    assert warning["Message-ID"] == f"<{run.sent['data_coverage_warning']}@kam-alerts>"
    assert warning["To"] == DATA_TEAM
    assert warning["Subject"] == "KAM data coverage 2026-10-31: 4 checks inactive"
    text = body(warning)
    assert text.startswith(
        "The run as of 2026-10-31 was published, but no row of crm/activities, crm/tickets"
    )
    assert "  - alert rule no_touchpoint: raises no alert for any account" in text
    assert "  - alert rule complaint_past_sla: raises no alert for any account" in text
    assert "  - health score engagement_recency_score: is unknown (null)" in text
    assert "crm/surveys" not in text and "erp/invoices" not in text  # those landed


def test_run_summary_and_validation_report_list_the_inactive_rules(run: Run) -> None:
    assert run.summary["inactive_alert_rules"] == REASONS
    assert set(run.summary["unknown_health_scores"]) == {
        "engagement_recency_score",
        "open_complaints_score",
    }
    assert len(run.sent["inactive_checks"]) == 4
    report = json.loads(
        (run.settings.reports_dir / "validation_2026-10-31.json").read_text(encoding="utf-8")
    )
    assert report["success"] and report["failed"] == []
    (warning,) = [w for w in report["warnings"] if w.startswith("data_coverage.")]
    assert warning.startswith(
        "data_coverage.expect_column_values_to_be_null on inactive_reason: 4 of 9 rows"
    )
    (outcome,) = [
        o for o in report["outcomes"]
        if o["suite"] == "data_coverage" and o["column"] == "inactive_reason"
    ]  # fmt: skip
    assert set(REASONS.values()) <= set(outcome["sample"]) and outcome["severity"] == "warning"


def test_missing_data_scores_unknown_in_the_marts(run: Run) -> None:
    rows, engagement, complaints, satisfaction, health = query(
        run.settings.serving_db,
        "select count(*), count(engagement_recency_score), count(open_complaints_score), "
        "count(satisfaction_score), count(health_score) from customer_health",
    )[0]
    assert rows > 0 and (engagement, complaints) == (0, 0)  # not 0 and 100 for everyone
    assert satisfaction == health == rows  # surveys landed; the score is always known
    unknown_payment, without_invoices = query(
        run.settings.serving_db,
        "select count(*) filter (where h.payment_discipline_score is null), "
        "count(*) filter (where f.invoices_late_share_t12m is null "
        "and f.max_days_overdue is null) "
        "from customer_health as h inner join customer_facts as f using (customer_id)",
    )[0]
    assert unknown_payment == without_invoices  # never 100 for a customer without invoices
