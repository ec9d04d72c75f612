"""A backfill over successive month-ends fills the dbt snapshots with the right history.

One demo world (anchor = the last date) is exported and landed as of each date into one
lake; ``dbt build`` then runs as of each date in order into one warehouse, the way the
warehouse DAG backfills. After each run the marts are read, so the snapshot history can be
checked against what each run computed; a rerun of the last date must change nothing.

A second warehouse, copied from the first after its 2026-10-31 run, recomputes 2026-09-30
(a past date) and then runs 2026-11-30: its history and marts must equal the in-order run's,
and the recompute must rebuild the 2026-09-30 marts as the first 2026-09-30 run did.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from test_dbt_project import run_dbt

DATES = (date(2026, 8, 31), date(2026, 9, 30), date(2026, 10, 31), date(2026, 11, 30))
# the out-of-order run: the in-order warehouse after BRANCH_AFTER, then these dates
BRANCH_AFTER = DATES[2]
OUT_OF_ORDER = (DATES[1], DATES[3])
SNAPSHOTS = {
    "snap_customer_tiers": "customer_id",
    "snap_customer_lifecycle": "customer_key",
    "snap_customer_health": "customer_key",
}
# marts that read the snapshots (previous run, tier history) and what their rows are keyed by
HISTORY_MARTS = {
    "customer_tiers": ["customer_id"],
    "customer_health": ["customer_key"],
    "customer_lifecycle": ["customer_key"],
    "customer_tier_changes": ["customer_id", "change_date"],
    "key_account_alerts": ["alert_id"],
    # the KAM programme marts: a backfilled month-end gives the scorecards, plan attainment
    # and competitor picture of a normal run of that date
    "account_manager_scorecards": ["scorecard_key"],
    "account_plan_attainment": ["plan_key"],
    "competitor_analysis": ["competitor"],
    "customer_competitors": ["customer_competitor_key"],
}
CUSTOMERS = 150
SEED = 5

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def _query(db_path: Path, sql: str) -> pd.DataFrame:
    import duckdb

    with duckdb.connect(str(db_path), read_only=True) as con:
        return con.execute(sql).df()


@dataclass(frozen=True)
class Backfill:
    db_path: Path
    tiers: dict[date, pd.DataFrame]
    health: dict[date, pd.DataFrame]
    lifecycle: dict[date, pd.DataFrame]
    # the marts that read history, per run date, in order and out of order
    marts: dict[date, dict[str, pd.DataFrame]] = field(default_factory=dict)
    recomputed_marts: dict[date, dict[str, pd.DataFrame]] = field(default_factory=dict)
    out_of_order_db: Path | None = None
    scenarios: dict = field(default_factory=dict)  # the demo's planted scenarios

    def query(self, sql: str) -> pd.DataFrame:
        return _query(self.db_path, sql)


def _history_marts(db: Path) -> dict[str, pd.DataFrame]:
    return {
        name: _query(db, f"select * from {name}").sort_values(key).reset_index(drop=True)  # noqa: S608 - fixed names
        for name, key in HISTORY_MARTS.items()
    }


def _build(lake: Path, db: Path, root: Path, as_of: date) -> None:
    # unit tests do not depend on the data (test_dbt_project runs them)
    args = ["build", "--exclude", "test_type:unit"]
    variables = json.dumps({"as_of_date": as_of.isoformat()})
    proc = run_dbt([*args, "--vars", variables], lake, db, root)
    assert proc.returncode == 0, f"dbt build as of {as_of} failed:\n{proc.stdout[-6000:]}"


@pytest.fixture(scope="module")
def backfill(tmp_path_factory: pytest.TempPathFactory) -> Backfill:
    demo_data = pytest.importorskip("kam_transforms.demo_data")
    files = pytest.importorskip("kam_transforms.extract.connectors")
    root = tmp_path_factory.mktemp("dbt_backfill")
    lake, db = root / "lake", root / "build.duckdb"
    for as_of in DATES:
        exports = root / f"exports_{as_of.isoformat()}"
        manifest = demo_data.generate(exports, CUSTOMERS, SEED, as_of, anchor=DATES[-1])
        files.land_exports(exports, lake, as_of)

    out_of_order_db = root / "out_of_order.duckdb"
    result = Backfill(
        db, {}, {}, {}, out_of_order_db=out_of_order_db, scenarios=manifest["scenarios"]
    )
    for as_of in DATES:
        _build(lake, db, root, as_of)
        result.tiers[as_of] = result.query("select * from customer_tiers")
        result.health[as_of] = result.query("select * from customer_health")
        result.lifecycle[as_of] = result.query("select * from customer_lifecycle")
        result.marts[as_of] = _history_marts(db)
        if as_of == BRANCH_AFTER:
            shutil.copyfile(db, out_of_order_db)
    for as_of in OUT_OF_ORDER:
        _build(lake, out_of_order_db, root, as_of)
        result.recomputed_marts[as_of] = _history_marts(out_of_order_db)
    snapshot_before = result.query("select * from main_snapshots.snap_customer_tiers")
    _build(lake, db, root, DATES[-1])  # a rerun of the last date
    snapshot_after = result.query("select * from main_snapshots.snap_customer_tiers")
    assert len(snapshot_after) == len(snapshot_before), "a rerun added snapshot versions"
    return result


def _in_force(snapshot: pd.DataFrame, day: date) -> pd.DataFrame:
    ts = pd.Timestamp(day)
    valid_to = snapshot["dbt_valid_to"]
    mask = (snapshot["dbt_valid_from"] <= ts) & (valid_to.isna() | (valid_to > ts))
    return snapshot[mask]


def _snapshot(db: Path, name: str) -> pd.DataFrame:
    frame = _query(db, f"select * from main_snapshots.{name}")  # noqa: S608 - fixed names
    return frame.sort_values([SNAPSHOTS[name], "dbt_valid_from"]).reset_index(drop=True)


def _assert_intervals_valid(snap: pd.DataFrame, key: str) -> None:
    """Per key: valid_from < valid_to, versions follow one another without overlap."""
    closed = snap[snap["dbt_valid_to"].notna()]
    backwards = closed[closed["dbt_valid_to"] <= closed["dbt_valid_from"]]
    assert backwards.empty, backwards[[key, "dbt_valid_from", "dbt_valid_to"]].head()
    ordered = snap.sort_values([key, "dbt_valid_from"])
    next_from = ordered.groupby(key)["dbt_valid_from"].shift(-1)
    has_next = next_from.notna()
    assert ordered.loc[has_next, "dbt_valid_to"].notna().all(), "an open version is not the last"
    overlap = ordered[has_next & (next_from != ordered["dbt_valid_to"])]
    assert overlap.empty, overlap[[key, "dbt_valid_from", "dbt_valid_to"]].head()


def test_recomputing_a_past_date_keeps_history_and_later_runs_equal(backfill: Backfill) -> None:
    assert backfill.out_of_order_db is not None
    for name, key in SNAPSHOTS.items():
        in_order = _snapshot(backfill.db_path, name)
        out_of_order = _snapshot(backfill.out_of_order_db, name)
        _assert_intervals_valid(out_of_order, key)
        assert len(out_of_order) == len(in_order), name
        pd.testing.assert_frame_equal(out_of_order, in_order, check_like=True, obj=name)
    scores = "select * from main_intermediate.int_health_scores_recorded order by all"
    pd.testing.assert_frame_equal(
        _query(backfill.out_of_order_db, scores), _query(backfill.db_path, scores),
        obj="int_health_scores_recorded")
    # the recompute rebuilt the past date's marts as its first run did, with the history
    # read as of that date; the later run after it equals the in-order one
    for as_of in OUT_OF_ORDER:
        for name, frame in backfill.recomputed_marts[as_of].items():
            pd.testing.assert_frame_equal(frame, backfill.marts[as_of][name], obj=f"{name} {as_of}")
    assert len(backfill.marts[DATES[1]]["customer_tier_changes"]) > 0
    for name in ("account_manager_scorecards", "account_plan_attainment", "competitor_analysis"):
        assert len(backfill.marts[DATES[1]][name]) > 0, name  # compared on real rows


def test_snapshot_validity_is_in_run_dates(backfill: Backfill) -> None:
    for name in SNAPSHOTS:
        snap = backfill.query(f"select * from main_snapshots.{name}")  # noqa: S608 - fixed names
        run_dates = {pd.Timestamp(d) for d in DATES}
        assert set(snap["dbt_valid_from"]) <= run_dates, name
        assert set(snap["dbt_valid_to"].dropna()) <= run_dates, name
        key = SNAPSHOTS[name]
        _assert_intervals_valid(snap, key)
        current = snap[snap["dbt_valid_to"].isna()]
        assert current[key].is_unique, name
        assert set(current[key]) == set(snap[key]), name


def test_health_history_versions_a_customer_only_when_its_band_changes(
    backfill: Backfill,
) -> None:
    """A score that moves within its band adds no version; a band change adds one. The
    score of every run is in int_health_scores_recorded instead, one row per customer."""
    snap = backfill.query("select * from main_snapshots.snap_customer_health")
    versions = snap.groupby("customer_key").size()
    runs = pd.concat(
        [backfill.health[day][["customer_key", "health_score", "health_band"]].assign(day=day)
         for day in DATES]  # fmt: skip
    ).sort_values(["customer_key", "day"])
    previous = runs.groupby("customer_key")[["health_score", "health_band"]].shift()
    seen = previous["health_band"].notna()
    band_changed = seen & (runs["health_band"] != previous["health_band"])
    score_moved_in_band = seen & ~band_changed & (runs["health_score"] != previous["health_score"])
    expected = 1 + band_changed.groupby(runs["customer_key"]).sum()
    assert versions.sort_index().equals(expected.sort_index().astype(versions.dtype))
    # both kinds occur in the demo history, so either rule breaking would show
    assert band_changed.sum() > 10 and score_moved_in_band.sum() > 100
    assert len(snap) == len(versions) + band_changed.sum() < len(runs)
    for day in DATES:
        in_force = _in_force(snap, day).set_index("customer_key")["health_band"]
        computed = backfill.health[day].set_index("customer_key")["health_band"]
        assert in_force.sort_index().equals(computed.sort_index()), day
    # every run's score is recorded once per customer (the rerun of the last date replaced
    # its rows), and the next run's previous score is that record
    recorded = backfill.query(
        "select run_date, customer_key, health_score "
        "from main_intermediate.int_health_scores_recorded")
    assert len(recorded) == len(runs)
    merged = runs.assign(run_date=pd.to_datetime(runs["day"])).merge(
        recorded, on=["run_date", "customer_key"], suffixes=("", "_recorded"))
    assert len(merged) == len(runs)
    assert (merged["health_score"] == merged["health_score_recorded"]).all()


def test_tier_history_equals_what_each_run_computed(backfill: Backfill) -> None:
    snap = backfill.query("select * from main_snapshots.snap_customer_tiers")
    for day in DATES:
        in_force = _in_force(snap, day).set_index("customer_id")
        computed = backfill.tiers[day].set_index("customer_id")
        assert set(in_force.index) == set(computed.index), day
        joined = computed.merge(
            in_force, left_index=True, right_index=True, suffixes=("", "_snapshot")
        )
        for col in ("abc_class", "value_quadrant", "is_key_account"):
            assert (joined[col] == joined[f"{col}_snapshot"]).all(), (day, col)


def test_tier_changes_list_every_change_with_its_date(backfill: Backfill) -> None:
    changes = backfill.query("select * from customer_tier_changes")
    expected = []
    for before, after in zip(DATES, DATES[1:], strict=False):
        old = backfill.tiers[before].set_index("customer_id")
        new = backfill.tiers[after].set_index("customer_id")
        both = new.merge(old, left_index=True, right_index=True, suffixes=("", "_old"))
        changed = both[
            (both["abc_class"] != both["abc_class_old"])
            | (both["value_quadrant"] != both["value_quadrant_old"])
            | (both["is_key_account"] != both["is_key_account_old"])
        ]
        expected += [(cid, pd.Timestamp(after), row.abc_class_old, row.abc_class)
                     for cid, row in changed.iterrows()]  # fmt: skip
    actual = [
        (r.customer_id, pd.Timestamp(r.change_date), r.previous_abc_class, r.abc_class)
        for r in changes.itertuples()
    ]
    assert sorted(actual) == sorted(expected)
    assert expected, "the demo history should contain at least one tier change"


def test_previous_run_feeds_health_trend_and_lifecycle(backfill: Backfill) -> None:
    last, before = DATES[-1], DATES[-2]
    health = backfill.health[last].merge(
        backfill.health[before][["customer_key", "health_score"]],
        on="customer_key",
        suffixes=("", "_before"),
    )
    assert (health["previous_health_score"] == health["health_score_before"]).all()
    moved = health["health_score"] - health["health_score_before"]
    expected_trend = moved.apply(lambda d: "up" if d >= 3 else "down" if d <= -3 else "same")
    assert (health["health_trend"] == expected_trend).all()

    first = backfill.health[DATES[0]]
    assert first["previous_health_score"].isna().all()
    assert (first["health_trend"] == "same").all()

    lifecycle = backfill.lifecycle[last].merge(
        backfill.lifecycle[before][["customer_key", "lifecycle_stage", "stage_entered_date"]],
        on="customer_key",
        suffixes=("", "_before"),
    )
    assert (lifecycle["stage_history_source"] == "previous_run").all()
    kept = lifecycle[lifecycle["lifecycle_stage"] == lifecycle["lifecycle_stage_before"]]
    assert (kept["stage_entered_date"] == kept["stage_entered_date_before"]).all()
    changed = lifecycle[lifecycle["lifecycle_stage"] != lifecycle["lifecycle_stage_before"]]
    assert (changed["previous_stage"] == changed["lifecycle_stage_before"]).all()
    assert (pd.to_datetime(changed["stage_entered_date"]) == pd.Timestamp(last)).all()


def test_previous_quadrant_is_the_previous_runs(backfill: Backfill) -> None:
    last, before = DATES[-1], DATES[-2]
    tiers = backfill.tiers[last].merge(
        backfill.tiers[before][["customer_id", "value_quadrant"]],
        on="customer_id",
        suffixes=("", "_before"),
    )
    assert (tiers["previous_value_quadrant"] == tiers["value_quadrant_before"]).all()
    changed = tiers["value_quadrant"] != tiers["value_quadrant_before"]
    assert (tiers["is_quadrant_changed"] == changed).all()
    assert backfill.tiers[DATES[0]]["previous_value_quadrant"].isna().all()


def test_planted_lost_a_account_counts_against_its_owner_at_the_month_end_it_drops(
    backfill: Backfill,
) -> None:
    """The demo's lost A account (kam_transforms/demo_portfolio.py) is class A at the first
    month-end and drops out of it (and out of the key accounts) at a later one; the scorecard
    of that month-end counts it against its owner: one more key account lost than the month
    before, last year's A accounts not all retained."""
    planted = backfill.scenarios["lost_a_account"]
    customer, owner = planted["customer_id"], f"owner:{planted['owner_id']}"
    tiers = {d: backfill.tiers[d].set_index("customer_id").loc[customer] for d in DATES}
    key = {d: tiers[d]["abc_class"] == "A" or bool(tiers[d]["is_key_account"]) for d in DATES}
    assert tiers[DATES[0]]["abc_class"] == "A"
    dropped = [d for d in DATES if not key[d]]
    assert dropped, key
    first = dropped[0]
    changes = backfill.marts[first]["customer_tier_changes"]
    mine = changes[
        (changes["customer_id"] == customer) & (changes["change_date"] == pd.Timestamp(first))
    ]
    assert list(mine["previous_abc_class"]) == ["A"] and list(mine["abc_class"]) != ["A"]

    def card(day: date) -> pd.Series:
        cards = backfill.marts[day]["account_manager_scorecards"]
        return cards.set_index("scorecard_key").loc[owner]

    row = card(first)
    assert row["key_accounts_lost"] >= card(DATES[DATES.index(first) - 1])["key_accounts_lost"] + 1
    assert row["class_a_retention_share"] < 1
    assert row["retained_class_a_count"] < row["prior_class_a_count"]
