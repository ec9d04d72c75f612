"""The monthly manager digest over the session demo build (tests/dbt_build.py, as of the
month-end 2026-10-31): sent once per manager and month-end across reruns through the alert
digests' outbox and state, and showing the values of the account_manager_scorecards rows and
the key accounts at risk recomputed here from the marts."""

from __future__ import annotations

import datetime as dt
import email
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pandas as pd
import pytest
from alert_fixtures import alert_settings
from dbt_build import AS_OF, Build

from kam_transforms.alerts import ALERT_COLUMNS, OutboxState, publish_alerts
from kam_transforms.alerts.team_source import TeamScorecard, is_month_end, read_team_scorecards


@pytest.fixture(scope="module")
def teams(build: Build) -> list[TeamScorecard]:
    return read_team_scorecards(build.db_path, AS_OF)


@pytest.fixture(scope="module")
def scorecards(build: Build) -> pd.DataFrame:
    return build.query("select * from account_manager_scorecards")


@pytest.fixture(scope="module")
def alerts(build: Build) -> pd.DataFrame:
    columns = ", ".join(ALERT_COLUMNS)
    return build.query(f"select {columns} from key_account_alerts order by dedup_key")  # noqa: S608


def _read(path: Path) -> EmailMessage:
    msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def _text(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def test_month_ends() -> None:
    assert is_month_end(dt.date(2026, 10, 31)) and is_month_end(dt.date(2028, 2, 29))
    assert not is_month_end(dt.date(2026, 11, 1)) and not is_month_end(dt.date(2026, 2, 27))


def test_sent_once_per_manager_and_month_end_across_reruns(
    teams: list[TeamScorecard], scorecards: pd.DataFrame, alerts: pd.DataFrame, tmp_path: Path
) -> None:
    settings = alert_settings(tmp_path)
    state = tmp_path / "state.sqlite"
    managers = sorted(scorecards.loc[scorecards["grain"] == "manager", "subject_id"])
    assert len(managers) == 4 and [t.manager_email for t in teams] == managers

    def run(day: dt.date) -> dict:
        frame = alerts.assign(as_of_date=day)
        return publish_alerts(frame, day, settings, state, crm_base_url="", team_scorecards=teams)

    def team_files() -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted(settings.outbox_dir.glob("team.*.eml"))}

    first = run(AS_OF)
    assert first["manager_digests_sent"] == 4 and first["manager_digest_recipients"] == managers
    written = team_files()
    assert sorted(written) == sorted(Path(f).name for f in first["manager_digest_files"])
    assert all(name.startswith("team.20261031.") for name in written)
    # the alert digests are counted as before, apart from the manager digests
    alert_files = list(settings.outbox_dir.glob("kam.20261031.*.eml"))
    assert first["digests_sent"] == len(alert_files) == len(first["files_written"]) > 0

    again = run(AS_OF)  # a rerun of the month-end: nothing new, the same bytes on disk
    assert (again["manager_digests_sent"], again["manager_digests_already_sent"]) == (0, 4)
    assert team_files() == written

    next_day = run(dt.date(2026, 11, 1))  # not a month-end: no manager digest
    assert next_day["manager_digests_planned"] == 0 and team_files() == written

    next_month = run(dt.date(2026, 11, 30))  # the next month-end: one more per manager
    assert next_month["manager_digests_sent"] == 4
    assert len(team_files()) == 8
    assert len(list(settings.outbox_dir.glob("team.20261130.*.eml"))) == 4
    with OutboxState(state) as st:
        rows = [d for d in st.deliveries() if d["delivery_id"].startswith("team.")]
    assert len(rows) == 8 and {d["status"] for d in rows} == {"sent"}


def _share(value: float) -> str:
    if pd.isna(value):
        return "n/a"
    return f"{100 * value:.1f}".removesuffix(".0") + "%"


def _money(value: float) -> str:
    return ("-" if value < 0 else "") + f"${abs(value):,.0f}"


def _at_risk(build: Build) -> pd.DataFrame:
    """Key accounts of each manager's team with red health, a plan behind or a high alert."""
    customers = build.query(
        "select customer_id, manager_email from dim_customers "
        "where manager_email is not null and customer_id is not null"
    )
    tiers = build.query(
        "select customer_id, abc_class, is_key_account, gross_margin_t12m from customer_tiers"
    )

    def ids(sql: str) -> set[str]:
        return set(build.query(sql)["customer_id"])

    red = ids("select customer_id from customer_health where health_band = 'red'")
    behind = ids(
        "select customer_id from account_plan_attainment where attainment_status = 'behind'"
    )
    high = ids("select customer_id from key_account_alerts where severity = 'high'")
    lines = customers.merge(tiers, on="customer_id")
    key = (lines["abc_class"] == "A") | lines["is_key_account"].fillna(False).astype(bool)
    flagged = lines["customer_id"].isin(red | behind | high)
    return lines[key & flagged]


def test_digest_shows_the_scorecard_rows_and_the_key_accounts_at_risk(
    build: Build, teams: list[TeamScorecard], scorecards: pd.DataFrame, tmp_path: Path
) -> None:
    from kam_transforms.alerts.team_digest import render_team_digest

    at_risk = _at_risk(build)
    owners = scorecards[scorecards["grain"] == "owner"]
    managers = scorecards[scorecards["grain"] == "manager"].set_index("subject_id")
    locales = {}
    for team in teams:
        msg = render_team_digest(team, as_of=AS_OF, mail_from="kam@example.com", currency="USD")
        text = _text(msg)
        locales[team.manager_email] = msg["Content-Language"]
        mine = at_risk[at_risk["manager_email"] == team.manager_email]
        assert team.at_risk_total == len(mine) > 0
        shown = [a.customer_id for a in team.at_risk]
        top = mine.sort_values(["gross_margin_t12m", "customer_id"], ascending=[False, True])
        assert shown == list(top["customer_id"][: len(shown)])
        assert all(f"({cid})" in text for cid in shown)
        row = managers.loc[team.manager_email]
        members = owners[owners["manager_email"] == team.manager_email]
        assert len(team.members) == len(members) == row["account_manager_count"]
        if msg["Content-Language"] != "en":
            assert msg["Subject"].startswith("关键客户团队月度考核 2026年10月：")
            assert f"团队得分 {row['scorecard_score']:.1f}" in text
            for _, m in members.iterrows():
                head = f"{m['subject_name']} | {m['scorecard_score']:.1f} | "
                head += f"{m['key_account_count']} | "
                assert head in text, head
            continue
        assert msg["Subject"] == (
            f"KAM team Oct 2026: {len(members)} account managers, {len(mine)} key accounts at risk"
        )
        score, keys = f"{row['scorecard_score']:.1f}", row["key_account_count"]
        assert f"Team score {score} · {keys} key accounts" in text
        assert f"Plan attainment {_share(row['plan_margin_attainment_share'])} of the margin " \
               f"target {_money(row['plan_margin_target_base'])}" in text  # fmt: skip
        for _, m in members.iterrows():
            line = " | ".join([
                m["subject_name"], f"{m['scorecard_score']:.1f}", str(m["key_account_count"]),
                _money(m["gross_margin_t12m"]), _share(m["gross_margin_growth_share"]),
                _share(m["plan_margin_attainment_share"]),
            ])  # fmt: skip
            assert line in text.splitlines(), line
    # the Greater China manager's team speaks zh-CN (its owners' locale), the others en
    assert locales["jianhua.li@kam-demo.example.com"] == "zh-CN"
    assert sorted(locales.values()) == ["en", "en", "en", "zh-CN"]
