"""What a manager's monthly team scorecard shows, read from the serving warehouse.

One :class:`TeamScorecard` per manager (``account_manager_scorecards`` rows of grain
``manager``) of the run date: the team's row, one row per account manager of the team (grain
``owner`` with that ``manager_email``) and the team's key accounts at risk.

Rules
-----
- team: the owners whose ``manager_email`` (owner directory, else CRM owner record; see
  :mod:`~kam_transforms.alerts.routing`) is the manager's address;
- key account: class A or ``is_key_account`` (``customer_tiers``, the alert rules' definition);
- at risk: a key account of the team with health band ``red`` (``customer_health``), a plan
  ``behind`` (``account_plan_attainment``) or a high-severity alert of the run
  (``key_account_alerts``); listed by trailing 12-month gross margin, largest first, at most
  ``max_accounts`` (``at_risk_total`` counts them all);
- the manager's name and locale: those of the CRM owner with the manager's address when the
  manager is an owner too, else no name and the locale most of the team's owners have (``en``
  on a tie).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kam_transforms import duck
from kam_transforms.addresses import normalise_address, normalise_locale

__all__ = ["AtRiskAccount", "TeamMember", "TeamScorecard", "is_month_end", "read_team_scorecards"]

#: Key accounts at risk listed per digest (the rest are counted).
DEFAULT_MAX_AT_RISK = 15


def is_month_end(day: dt.date) -> bool:
    """True on the last day of a month: the runs that send manager digests."""
    return (day + dt.timedelta(days=1)).day == 1


@dataclass(frozen=True)
class TeamMember:
    """One account manager's line (an ``account_manager_scorecards`` row of grain owner)."""

    owner_id: str
    name: str
    scorecard_score: float | None
    key_account_count: int
    gross_margin_t12m: float
    gross_margin_growth_share: float | None
    plan_margin_attainment_share: float | None
    plans_behind: int


@dataclass(frozen=True)
class AtRiskAccount:
    """A key account of the team at risk, with why: ``red_health``, ``plan_behind`` and the
    rule ids of its high-severity alerts."""

    customer_id: str
    customer_name: str
    owner_name: str
    gross_margin_t12m: float | None
    health_band: str | None
    plans_behind: int
    high_alert_rules: tuple[str, ...]


@dataclass(frozen=True)
class TeamScorecard:
    """A manager's team on the run date (the ``account_manager_scorecards`` manager row)."""

    manager_email: str
    manager_name: str
    locale: str
    team: str | None
    scorecard_score: float | None
    account_manager_count: int
    key_account_count: int
    gross_margin_t12m: float
    gross_margin_growth_share: float | None
    plan_count: int
    plans_on_track: int
    plans_at_risk: int
    plans_behind: int
    key_accounts_without_plan: int
    plan_margin_target_base: float | None
    plan_margin_to_date_base: float | None
    plan_margin_attainment_share: float | None
    plan_margin_pace_share: float | None
    members: list[TeamMember] = field(default_factory=list)
    at_risk: list[AtRiskAccount] = field(default_factory=list)
    at_risk_total: int = 0


_SCORECARD_COLUMNS = (
    "grain", "subject_id", "subject_name", "manager_email", "team", "scorecard_score",
    "account_manager_count", "key_account_count", "gross_margin_t12m",
    "gross_margin_growth_share", "plan_count", "plans_on_track", "plans_at_risk",
    "plans_behind", "key_accounts_without_plan", "plan_margin_target_base",
    "plan_margin_to_date_base", "plan_margin_attainment_share", "plan_margin_pace_share",
)  # fmt: skip

_AT_RISK_SQL = """
with key_accounts as (
    select c.manager_email, c.customer_id, c.customer_name, c.owner_name, t.gross_margin_t12m
    from dim_customers as c
    inner join customer_tiers as t on c.customer_id = t.customer_id
    where c.manager_email is not null and (t.abc_class = 'A' or coalesce(t.is_key_account, false))
),
behind as (
    select customer_id, count(*) as plans_behind from account_plan_attainment
    where attainment_status = 'behind' group by customer_id
),
high as (
    select customer_id, list_sort(list(distinct rule_id)) as rules from key_account_alerts
    where severity = 'high' and as_of_date = ? group by customer_id
),
flagged as (
    select k.*, h.health_band, coalesce(b.plans_behind, 0) as plans_behind,
        coalesce(a.rules, []) as rules
    from key_accounts as k
    left join customer_health as h on k.customer_id = h.customer_id
    left join behind as b on k.customer_id = b.customer_id
    left join high as a on k.customer_id = a.customer_id
    where h.health_band = 'red' or b.customer_id is not null or a.customer_id is not null
),
ranked as (
    select *,
        row_number() over (
            partition by manager_email order by gross_margin_t12m desc nulls last, customer_id
        ) as position,
        count(*) over (partition by manager_email) as total
    from flagged
)
select manager_email, customer_id, customer_name, owner_name, gross_margin_t12m, health_band,
    plans_behind, rules, total
from ranked where position <= ? order by manager_email, position
"""


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _int(value: Any) -> int:
    return 0 if value is None else int(value)


def _manager_identity(
    owners: list[tuple[Any, ...]], manager: str
) -> tuple[str, str]:
    """(name, locale) of a manager: an owner with the address, else the team's usual locale."""
    for _, name, email, locale, _ in owners:
        if email and normalise_address(email) == manager:
            return str(name or ""), normalise_locale(locale)
    counts = Counter(
        normalise_locale(locale)
        for _, _, _, locale, manager_email in owners
        if manager_email and normalise_address(manager_email) == manager
    )
    if counts and counts.most_common(1)[0][0] != "en":
        top = counts.most_common()
        if len(top) == 1 or top[0][1] > top[1][1]:
            return "", top[0][0]
    return "", "en"


def read_team_scorecards(
    serving_db: str | Path, as_of: dt.date, max_accounts: int = DEFAULT_MAX_AT_RISK
) -> list[TeamScorecard]:
    """The team scorecard of every manager with a valid address, as of ``as_of``, in address
    order. Reads the serving warehouse read-only (the caller checks it is of ``as_of``)."""
    if max_accounts < 1:
        raise ValueError(f"max_accounts must be >= 1, got {max_accounts}")
    columns = ", ".join(_SCORECARD_COLUMNS)
    with duck.connect(Path(serving_db), read_only=True) as con:
        rows = con.execute(
            f"select {columns} from account_manager_scorecards where as_of_date = ? "  # noqa: S608 - fixed columns
            "order by grain, subject_id",
            [as_of],
        ).fetchall()
        owners = con.execute(
            "select distinct owner_id, owner_name, owner_email, owner_locale, manager_email "
            "from dim_customers where owner_id is not null order by owner_id"
        ).fetchall()
        risky = con.execute(_AT_RISK_SQL, [as_of, max_accounts]).fetchall()
    records = [dict(zip(_SCORECARD_COLUMNS, row, strict=True)) for row in rows]
    members: dict[str, list[TeamMember]] = {}
    for r in records:
        if r["grain"] != "owner" or not r["manager_email"]:
            continue
        members.setdefault(r["manager_email"], []).append(
            TeamMember(
                owner_id=str(r["subject_id"]),
                name=str(r["subject_name"] or r["subject_id"]),
                scorecard_score=_float(r["scorecard_score"]),
                key_account_count=_int(r["key_account_count"]),
                gross_margin_t12m=float(r["gross_margin_t12m"] or 0),
                gross_margin_growth_share=_float(r["gross_margin_growth_share"]),
                plan_margin_attainment_share=_float(r["plan_margin_attainment_share"]),
                plans_behind=_int(r["plans_behind"]),
            )
        )
    at_risk: dict[str, list[AtRiskAccount]] = {}
    totals: dict[str, int] = {}
    for manager, cid, cname, oname, margin, band, behind, rules, total in risky:
        at_risk.setdefault(manager, []).append(
            AtRiskAccount(str(cid), str(cname or cid), str(oname or ""), _float(margin),
                          band, _int(behind), tuple(rules or ()))
        )  # fmt: skip
        totals[manager] = int(total)
    teams = []
    for r in records:
        address = normalise_address(r["subject_id"]) if r["grain"] == "manager" else None
        if address is None:
            continue
        name, locale = _manager_identity(owners, address)
        key = r["subject_id"]
        teams.append(
            TeamScorecard(
                manager_email=address,
                manager_name=name,
                locale=locale,
                team=r["team"],
                scorecard_score=_float(r["scorecard_score"]),
                account_manager_count=_int(r["account_manager_count"]),
                key_account_count=_int(r["key_account_count"]),
                gross_margin_t12m=float(r["gross_margin_t12m"] or 0),
                gross_margin_growth_share=_float(r["gross_margin_growth_share"]),
                plan_count=_int(r["plan_count"]),
                plans_on_track=_int(r["plans_on_track"]),
                plans_at_risk=_int(r["plans_at_risk"]),
                plans_behind=_int(r["plans_behind"]),
                key_accounts_without_plan=_int(r["key_accounts_without_plan"]),
                plan_margin_target_base=_float(r["plan_margin_target_base"]),
                plan_margin_to_date_base=_float(r["plan_margin_to_date_base"]),
                plan_margin_attainment_share=_float(r["plan_margin_attainment_share"]),
                plan_margin_pace_share=_float(r["plan_margin_pace_share"]),
                members=sorted(members.get(key, []), key=lambda m: (m.name, m.owner_id)),
                at_risk=at_risk.get(key, []),
                at_risk_total=totals.get(key, 0),
            )
        )
    return sorted(teams, key=lambda t: t.manager_email)
