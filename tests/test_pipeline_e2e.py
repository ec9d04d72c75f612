"""The real DAG, end to end with ``dag.test()``, on a small generated demo data set.

The serving warehouse is then checked against values computed independently here, from
the landed Parquet, with pandas.
"""

from __future__ import annotations

import email
import email.policy
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from conftest import REPO

pytestmark = pytest.mark.slow
AS_OF = date(2026, 10, 31)
CUSTOMERS = 300


def run_dag(as_of: date):  # noqa: ANN201 - returns Airflow's DagRun
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(str(REPO / "dags")).dags["kam_pipeline"]
    return dag.test(logical_date=datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC))


@pytest.fixture(scope="module")
def demo(airflow_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    from kam_transforms.config import Settings
    from kam_transforms.demo_data import generate

    home = tmp_path_factory.mktemp("kam")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KAM_HOME", str(home))
        settings = Settings.from_env()
        manifest = generate(settings.exports_dir, CUSTOMERS, 11, AS_OF)
        dag_run = run_dag(AS_OF)
        yield {"settings": settings, "manifest": manifest, "dag_run": dag_run}


def serving(demo: dict, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(demo["settings"].serving_db), read_only=True) as con:
        return con.execute(sql).df()


def lake(demo: dict, source: str, entity: str) -> pd.DataFrame:
    path = demo["settings"].lake_dir / "raw" / source / entity
    return pd.read_parquet(next(path.rglob("*.parquet")))


def expected_trailing_margin(demo: dict) -> pd.Series:
    """Trailing-12-month gross margin in USD per customer, from the landed Parquet."""
    orders = lake(demo, "erp", "orders")
    lines = lake(demo, "erp", "order_lines")
    fx = lake(demo, "erp", "fx_rates")
    orders["order_date"] = pd.to_datetime(orders["order_date"])
    start = pd.Timestamp(AS_OF) - pd.DateOffset(months=12)
    orders = orders[(orders["status"] != "cancelled") & (orders["order_date"] > start)
                    & (orders["order_date"] <= pd.Timestamp(AS_OF))]
    fx["rate_date"] = pd.to_datetime(fx["rate_date"])
    fx["rate_to_base"] = fx["rate_to_base"].astype(float)
    df = lines.merge(orders, on="order_id").sort_values("order_date")
    df = pd.merge_asof(df, fx.sort_values("rate_date"), left_on="order_date",
                       right_on="rate_date", by="currency", direction="backward")
    for col in ("quantity", "unit_price", "discount_pct", "unit_cost"):
        df[col] = df[col].astype(float)
    revenue = df["quantity"] * df["unit_price"] * (1 - df["discount_pct"]) * df["rate_to_base"]
    cost = df["quantity"] * df["unit_cost"] * df["rate_to_base"]
    return (revenue - cost).groupby(df["customer_id"]).sum()


def test_dag_run_succeeds(demo: dict) -> None:
    assert demo["dag_run"].state == "success"


def test_the_dag_publish_writes_the_cockpit_and_the_summary_names_it(demo: dict) -> None:
    from kam_transforms.pipeline import summarize

    settings = demo["settings"]
    index = settings.reports_dir / "cockpit" / AS_OF.isoformat() / "index.html"
    assert index.is_file() and (index.parent / "managers" / "index.html").is_file()
    assert summarize(settings, AS_OF)["cockpit"] == str(index)


def test_every_demo_customer_has_exactly_one_tier(demo: dict) -> None:
    customers = pd.read_csv(demo["settings"].exports_dir / "erp" / "customers.csv", dtype=str)
    tiers = serving(demo, "select customer_id, abc_class from customer_tiers")
    assert len(customers) == demo["manifest"]["row_counts"]["erp/customers"]
    assert sorted(tiers["customer_id"]) == sorted(customers["customer_id"])
    assert tiers["customer_id"].is_unique
    assert set(tiers["abc_class"]) == {"A", "B", "C"}


def test_class_a_is_the_top_margin_customers_up_to_the_80_percent_cutoff(demo: dict) -> None:
    margin = expected_trailing_margin(demo)
    positive = margin[margin > 0].sort_index()
    ranked = positive.sort_values(ascending=False, kind="stable")
    share_before = ranked.cumsum().shift(fill_value=0) / ranked.sum()
    expected_a = set(ranked[share_before < 0.80].index)

    tiers = serving(
        demo,
        "select customer_id, abc_class, unbanded_abc_class, previous_abc_class, "
        "cumulative_share_before, gross_margin_t12m from customer_tiers",
    )
    actual_a = set(tiers.loc[tiers["unbanded_abc_class"] == "A", "customer_id"])
    assert actual_a == expected_a
    assert 0 < len(actual_a) < 0.5 * len(tiers)  # Pareto: a minority carries 80%
    assert ranked[list(actual_a)].sum() / ranked.sum() >= 0.80
    # Hysteresis only moves a customer near a cut-off (within the 2% band), and only toward
    # its previous class.
    held = tiers[tiers["abc_class"] != tiers["unbanded_abc_class"]]
    for _, row in held.iterrows():
        bounds = sorted([row["unbanded_abc_class"], row["previous_abc_class"] or "C"])
        assert bounds[0] <= row["abc_class"] <= bounds[1], row
    near = (held["cumulative_share_before"] - 0.80).abs().le(0.02) | (
        held["cumulative_share_before"] - 0.95
    ).abs().le(0.02)
    assert near.all(), held
    got = tiers.set_index("customer_id")["gross_margin_t12m"]
    pd.testing.assert_series_equal(
        got[positive.index].astype(float), positive.astype(float), check_names=False, rtol=1e-6
    )


def test_declining_key_account_emailed_its_owner(demo: dict) -> None:
    planted = demo["manifest"]["scenarios"]["declining_key_account"]
    alerts = serving(demo, "select customer_id, rule_id, owner_email from key_account_alerts")
    mine = alerts[alerts["customer_id"] == planted["customer_id"]]
    assert "revenue_decline" in set(mine["rule_id"])

    outbox = demo["settings"].outbox_dir
    messages = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
                for p in sorted(outbox.glob("*.eml"))]
    to_owner = [m for m in messages if planted["owner_email"] in str(m["To"])]
    assert len(to_owner) == 1
    body = to_owner[0].get_body(preferencelist=("plain",)).get_content()
    name = serving(demo, "select customer_name from dim_customers where customer_id = "
                   f"'{planted['customer_id']}'")["customer_name"].iloc[0]
    assert name in body
    assert "revenue" in body.lower()


def test_the_month_end_run_sends_each_manager_a_team_scorecard_and_exports_the_lifecycle(
    demo: dict,
) -> None:
    settings = demo["settings"]
    managers = serving(
        demo, "select subject_id from account_manager_scorecards where grain = 'manager'"
    )["subject_id"]
    digests = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
               for p in sorted(settings.outbox_dir.glob("team.20261031.*.eml"))]  # fmt: skip
    assert sorted(str(m["To"].addresses[0].addr_spec) for m in digests) == sorted(managers)
    assert len(digests) == 4
    lifecycle = pd.read_parquet(
        settings.lake_dir / "alert_history" / "as_of=2026-10-31" / "alert_lifecycle.parquet"
    )  # the first alerts step: every alert of the run raised at its date, none closed
    alerts = serving(demo, "select dedup_key from key_account_alerts")
    assert sorted(lifecycle["dedup_key"]) == sorted(alerts["dedup_key"])
    assert set(lifecycle["raised_on"].astype(str)) == {"2026-10-31"}
    assert lifecycle["closed_on"].isna().all()


def test_rerun_of_the_same_date_sends_nothing_new(demo: dict) -> None:
    before = sorted(p.name for p in demo["settings"].outbox_dir.glob("*.eml"))
    assert run_dag(AS_OF).state == "success"
    assert sorted(p.name for p in demo["settings"].outbox_dir.glob("*.eml")) == before


def test_failing_expectation_keeps_the_serving_warehouse(demo: dict) -> None:
    import expectations.customer_tiers as suite_module

    settings = demo["settings"]
    before = settings.serving_db.read_bytes()
    original = suite_module.build

    def stricter(gx, baseline, config):  # noqa: ANN001, ANN202 - planted, the data breaks it
        suite = original(gx, baseline, config)
        suite.add_expectation(
            gx.expectations.ExpectColumnValuesToBeInSet(column="abc_class", value_set=["A", "B"])
        )
        return suite

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KAM_HOME", str(settings.home))
        mp.setattr(suite_module, "build", stricter)
        dag_run = run_dag(date(2026, 11, 1))
    assert dag_run.state == "failed"
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert states["validate"] == "failed"
    assert states["publish"] == "upstream_failed"
    assert settings.serving_db.read_bytes() == before
    report = json.loads((settings.reports_dir / "validation_2026-11-01.json").read_text())
    assert report["success"] is False
    assert [f.split(":")[0] for f in report["failed"]] == [
        "customer_tiers.expect_column_values_to_be_in_set on abc_class"
    ]
