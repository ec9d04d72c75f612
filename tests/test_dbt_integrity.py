"""A corrupted export builds, reconciles and reports every broken row (issue 10, points 7,
8, 13 and 14).

The demo export as of AS_OF is corrupted on disk before it is landed, the way a bad ERP or
CRM drop arrives:

- a customer who has orders is removed from ``erp/customers.csv`` (orders without customer),
- an order that has lines is removed from ``erp/orders.csv`` (lines without order),
- the EUR rates of the last 30 days are removed from ``erp/fx_rates.csv`` (stale rates),
- one owner's e-mail in ``crm/owners.csv`` is made malformed,
- one CRM account points to an ERP id that does not exist, another to an ERP customer a
  third account already points to (``crm/accounts.csv``).

``dbt build`` must succeed; ``data_quality_issues`` lists every broken row with its reason,
fct_order_lines plus the orphans' revenue equals the landed revenue, and validation passes
with a warning naming the rows of each kind (blocking only when stale lines exceed the
configured share).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from dbt_build import Build, run_dbt

AS_OF = date(2026, 10, 31)
CUSTOMERS = 120
SEED = 7
BAD_EMAIL = "jane.doe at kam-demo.example.com"
MISSING_ERP_ID = "CUS-9999999"
FX_GAP_DAYS = 30
FX_MAX_AGE = 7  # dbt var fx_max_rate_age_days (default)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@dataclass(frozen=True)
class Corruption:
    removed_customer: str
    removed_order: str
    bad_owner: str
    missing_link_account: str
    removed_customer_accounts: tuple[str, ...]
    duplicate_account: str
    duplicate_target: str
    fx_currency: str


@dataclass(frozen=True)
class Corrupted:
    build: Build
    exports: Path
    corruption: Corruption


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _write(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False)


def _corrupt(exports: Path) -> Corruption:
    erp, crm = exports / "erp", exports / "crm"
    customers, orders = _read(erp / "customers.csv"), _read(erp / "orders.csv")
    lines, fx = _read(erp / "order_lines.csv"), _read(erp / "fx_rates.csv")
    accounts, owners = _read(crm / "accounts.csv"), _read(crm / "owners.csv")

    sold = orders[
        (orders["status"] != "cancelled") & (pd.to_datetime(orders["order_date"]).dt.date <= AS_OF)
    ]
    sold = sold[sold["order_id"].isin(lines["order_id"])]
    # a customer with sales (its CRM account then points to a missing ERP customer too), and
    # another customer's order
    removed_customer = sorted(sold["customer_id"])[0]
    removed_order = sold[sold["customer_id"] != removed_customer]["order_id"].iloc[0]
    _write(customers[customers["customer_id"] != removed_customer], erp / "customers.csv")
    _write(orders[orders["order_id"] != removed_order], erp / "orders.csv")

    # EUR rates stop FX_GAP_DAYS before the run date
    gap_start = (AS_OF - timedelta(days=FX_GAP_DAYS)).isoformat()
    _write(fx[~((fx["currency"] == "EUR") & (fx["rate_date"] > gap_start))], erp / "fx_rates.csv")

    bad_owner = owners["owner_id"].iloc[1]
    owners.loc[owners["owner_id"] == bad_owner, "email"] = BAD_EMAIL
    _write(owners, crm / "owners.csv")

    # two live accounts with ERP customers: the first loses its link, the second is pointed
    # at the ERP customer of a third, older account
    live = accounts[(accounts["is_deleted"] != "true") & (accounts["erp_customer_id"] != "")]
    live = live[live["erp_customer_id"] != removed_customer].sort_values("created_at")
    target = live.iloc[0]
    missing_link, duplicate = live.iloc[-1], live.iloc[-2]
    accounts.loc[accounts["account_id"] == missing_link["account_id"], "erp_customer_id"] = (
        MISSING_ERP_ID
    )
    accounts.loc[accounts["account_id"] == duplicate["account_id"], "erp_customer_id"] = target[
        "erp_customer_id"
    ]
    _write(accounts, crm / "accounts.csv")
    return Corruption(
        removed_customer=removed_customer,
        removed_order=removed_order,
        bad_owner=bad_owner,
        missing_link_account=missing_link["account_id"],
        removed_customer_accounts=tuple(
            accounts.loc[accounts["erp_customer_id"] == removed_customer, "account_id"]
        ),
        duplicate_account=duplicate["account_id"],
        duplicate_target=target["erp_customer_id"],
        fx_currency="EUR",
    )


@pytest.fixture(scope="module")
def corrupted(tmp_path_factory: pytest.TempPathFactory) -> Corrupted:
    demo_data = pytest.importorskip("kam_transforms.demo_data")
    connectors = pytest.importorskip("kam_transforms.extract.connectors")
    root = tmp_path_factory.mktemp("dbt_integrity")
    exports, lake, db = root / "exports", root / "lake", root / "build.duckdb"
    manifest = demo_data.generate(exports, CUSTOMERS, SEED, AS_OF)
    corruption = _corrupt(exports)
    connectors.land_exports(exports, lake, AS_OF)
    proc = run_dbt(
        [
            "build",
            "--exclude",
            "test_type:unit",
            "--vars",
            json.dumps({"as_of_date": AS_OF.isoformat()}),
        ],
        lake,
        db,
        root,
    )
    assert proc.returncode == 0, f"dbt build failed:\n{proc.stdout[-8000:]}"
    return Corrupted(Build(root, lake, db, manifest, proc.stdout), exports, corruption)


def _issues(build: Build, issue_type: str) -> pd.DataFrame:
    return build.query(
        f"select * from data_quality_issues where issue_type = '{issue_type}' order by entity_key"  # noqa: S608 - fixed names
    )


def _landed_lines(build: Build) -> pd.DataFrame:
    """Landed lines of landed, non-cancelled orders up to AS_OF, revenue in USD (pandas)."""
    orders = build.landed("erp", "orders")
    lines = build.landed("erp", "order_lines")
    fx = build.landed("erp", "fx_rates")
    orders["order_date"] = pd.to_datetime(orders["order_date"])
    orders = orders[
        (orders["status"] != "cancelled") & (orders["order_date"] <= pd.Timestamp(AS_OF))
    ]
    df = lines.merge(orders[["order_id", "customer_id", "order_date", "currency"]], on="order_id")
    for col in ("quantity", "unit_price", "discount_pct"):
        df[col] = pd.to_numeric(df[col])
    df["amount"] = df["quantity"] * df["unit_price"] * (1 - df["discount_pct"].fillna(0))
    fx["rate_date"] = pd.to_datetime(fx["rate_date"])
    fx["rate_to_base"] = pd.to_numeric(fx["rate_to_base"])
    df = pd.merge_asof(
        df.sort_values("order_date"),
        fx.sort_values("rate_date")[["currency", "rate_date", "rate_to_base"]],
        left_on="order_date", right_on="rate_date", by="currency", direction="backward",
    )  # fmt: skip
    df.loc[df["currency"] == "USD", "rate_to_base"] = 1.0
    df["revenue_base"] = df["amount"] * df["rate_to_base"]
    return df


def test_orders_without_customer_are_counted_not_failed(corrupted: Corrupted) -> None:
    build, c = corrupted.build, corrupted.corruption
    landed = _landed_lines(build)
    orphan_lines = landed[landed["customer_id"] == c.removed_customer]
    assert len(orphan_lines) > 0
    issues = _issues(build, "order_customer_missing")
    assert set(issues["related_key"]) == {c.removed_customer}
    assert sorted(issues["entity_key"]) == sorted(orphan_lines["order_id"].unique())
    assert issues["line_count"].sum() == len(orphan_lines)
    assert issues["revenue_base"].sum() == pytest.approx(
        orphan_lines["revenue_base"].sum(), rel=1e-9
    )
    assert all(f"customer {c.removed_customer} of the order" in r for r in issues["reason"])

    facts = build.query("select order_line_id, revenue_base from fct_order_lines")
    assert c.removed_customer not in set(
        build.query("select customer_id from customer_tiers")["customer_id"]
    )
    # rows in = rows in the facts + rows counted as orphans; revenue reconciles
    assert len(landed) == len(facts) + issues["line_count"].sum()
    assert facts["revenue_base"].sum() + issues["revenue_base"].sum() == pytest.approx(
        landed["revenue_base"].sum(), rel=1e-9
    )


def test_lines_without_order_are_counted_with_their_amount(corrupted: Corrupted) -> None:
    build, c = corrupted.build, corrupted.corruption
    lines = build.landed("erp", "order_lines")
    removed = lines[lines["order_id"] == c.removed_order]
    assert len(removed) > 0
    issues = _issues(build, "order_line_order_missing")
    assert sorted(issues["entity_key"]) == sorted(removed["order_line_id"])
    assert set(issues["related_key"]) == {c.removed_order}
    amount = (
        pd.to_numeric(removed["quantity"])
        * pd.to_numeric(removed["unit_price"])
        * (1 - pd.to_numeric(removed["discount_pct"]).fillna(0))
    )
    assert issues["amount"].sum() == pytest.approx(amount.sum(), rel=1e-9)
    assert issues["revenue_base"].isna().all()
    facts = build.query("select order_id from fct_order_lines")
    assert c.removed_order not in set(facts["order_id"])


def test_stale_fx_rates_are_flagged_per_line_and_listed_per_rate(corrupted: Corrupted) -> None:
    build, c = corrupted.build, corrupted.corruption
    facts = build.query(
        "select order_line_id, order_date, currency, fx_rate_date, fx_rate_age_days, "
        "is_fx_rate_stale, revenue_base from fct_order_lines"
    )
    last_rate = pd.Timestamp(AS_OF - timedelta(days=FX_GAP_DAYS))
    eur = facts[facts["currency"] == c.fx_currency]
    expected = eur[pd.to_datetime(eur["order_date"]) > last_rate + pd.Timedelta(days=FX_MAX_AGE)]
    assert len(expected) > 0
    stale = facts[facts["is_fx_rate_stale"]]
    assert sorted(stale["order_line_id"]) == sorted(expected["order_line_id"])
    assert (pd.to_datetime(stale["fx_rate_date"]) == last_rate).all()
    assert (stale["fx_rate_age_days"] > FX_MAX_AGE).all()
    assert facts.loc[facts["currency"] == "USD", "fx_rate_date"].isna().all()

    issues = _issues(build, "fx_rate_stale")
    assert list(issues["entity_key"]) == [f"EUR {last_rate.date().isoformat()}"]
    assert issues["line_count"].iloc[0] == len(expected)
    assert issues["revenue_base"].iloc[0] == pytest.approx(expected["revenue_base"].sum(), rel=1e-9)
    assert "fx_max_rate_age_days = 7" in issues["reason"].iloc[0]


def test_malformed_owner_email_is_listed(corrupted: Corrupted) -> None:
    build, c = corrupted.build, corrupted.corruption
    issues = _issues(build, "owner_email_malformed")
    assert list(issues["entity_key"]) == [c.bad_owner]
    assert list(issues["related_key"]) == [BAD_EMAIL]
    assert "go to sales ops" in issues["reason"].iloc[0]


def test_broken_crm_erp_links_are_reported_and_the_older_account_wins(corrupted: Corrupted) -> None:
    build, c = corrupted.build, corrupted.corruption
    dim = build.query(
        "select account_id, customer_id, crm_erp_customer_id, erp_link_status from dim_customers"
    ).set_index("account_id", drop=False)
    missing = dim.loc[c.missing_link_account]
    assert (missing["erp_link_status"], missing["crm_erp_customer_id"]) == (
        "erp_customer_missing",
        MISSING_ERP_ID,
    )
    assert pd.isna(missing["customer_id"])
    loser = dim.loc[c.duplicate_account]
    assert (loser["erp_link_status"], loser["crm_erp_customer_id"]) == (
        "duplicate_link",
        c.duplicate_target,
    )
    assert pd.isna(loser["customer_id"])
    winner = dim[dim["customer_id"] == c.duplicate_target]
    assert len(winner) == 1 and winner["erp_link_status"].iloc[0] == "linked"
    # the ERP customer the loser used to carry is now an ERP-only row, not lost
    missing_accounts = sorted([c.missing_link_account, *c.removed_customer_accounts])
    statuses = dim["erp_link_status"].value_counts().to_dict()
    assert statuses["erp_customer_missing"] == len(missing_accounts)
    assert statuses["duplicate_link"] == 1

    missing_issues = _issues(build, "crm_erp_customer_missing")
    assert list(missing_issues["entity_key"]) == missing_accounts
    duplicate_issues = _issues(build, "crm_erp_link_duplicate")
    assert list(duplicate_issues["entity_key"]) == [c.duplicate_account]
    assert (
        f"which account {winner['account_id'].iloc[0]} carries"
        in duplicate_issues["reason"].iloc[0]
    )


def test_validation_warns_with_the_rows_and_blocks_only_above_the_stale_share(
    corrupted: Corrupted, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from expectations import fct_order_lines
    from kam_transforms.validate import ValidationFailed, ValidationReport, validate_marts

    build, c = corrupted.build, corrupted.corruption

    def validate(suites: tuple[Any, ...] | None = None) -> ValidationReport:
        return validate_marts(
            build.db_path, "main", AS_OF, serving_db=tmp_path / "serving.duckdb",
            audit_db=tmp_path / "audit.duckdb", reports_dir=tmp_path / "reports",
            gx_root=tmp_path / "gx", run_id="integrity", suites=suites,
        )  # fmt: skip

    report = validate()
    assert report.success, report.as_dict()["failed"]
    warnings = {(o.suite, o.column): o for o in report.warnings}
    expected = {
        "order_customer_missing": None,
        "order_line_order_missing": None,
        "fx_rate_stale": [f"EUR {(AS_OF - timedelta(days=FX_GAP_DAYS)).isoformat()}"],
        "owner_email_malformed": [c.bad_owner],
        "crm_erp_customer_missing": None,
        "crm_erp_link_duplicate": [c.duplicate_account],
    }
    for issue_type, keys in expected.items():
        outcome = warnings[("data_quality_issues", issue_type)]
        rows = _issues(build, issue_type)
        assert outcome.unexpected_count == len(rows), issue_type
        assert len(outcome.sample) == min(len(rows), 10), issue_type
        assert set(outcome.sample) <= set(rows["entity_key"]), issue_type
        if keys is not None:
            assert outcome.sample == keys
    assert set(warnings[("dim_customers", "owner_email")].sample) == {BAD_EMAIL}

    # above the configured share of stale lines, publication is blocked
    stale_share = build.query(
        "select avg(case when is_fx_rate_stale then 1.0 else 0 end) as s from fct_order_lines"
    )
    assert 0 < stale_share["s"].iloc[0] < 0.05
    config = tmp_path / "expectations.yml"
    config.write_text("tolerances:\n  fx_stale_line_share: 0.001\n", encoding="utf-8")
    monkeypatch.setenv("KAM_EXPECTATIONS_CONFIG", str(config))
    with pytest.raises(ValidationFailed) as failed:
        validate(suites=(fct_order_lines,))
    blocking = failed.value.report.blocking_failures
    assert [(o.expectation, o.column) for o in blocking] == [
        ("expect_column_values_to_be_in_set", "is_fx_rate_stale")
    ]
