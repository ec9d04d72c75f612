"""Hard deletes (tombstones) and soft deletes landed by a connector reach the warehouse."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from kam_transforms.config import Settings
from kam_transforms.entities import entity

pytestmark = pytest.mark.slow
BEFORE, AS_OF = date(2026, 10, 30), date(2026, 10, 31)


def test_tombstones_drop_rows_and_soft_deleted_accounts_are_flagged(kam_home: Path) -> None:
    from kam_transforms.demo_data import generate
    from kam_transforms.extract import land_batch, land_exports
    from kam_transforms.pipeline import dbt_build

    settings = Settings.from_env()
    generate(settings.exports_dir, 120, 9, BEFORE)
    land_exports(settings.exports_dir, settings.lake_dir, BEFORE)
    payments = pd.read_csv(settings.exports_dir / "erp" / "payments.csv", dtype=str)
    tickets = pd.read_csv(settings.exports_dir / "crm" / "tickets.csv", dtype=str)
    accounts = pd.read_csv(settings.exports_dir / "crm" / "accounts.csv", dtype=str)
    gone_payment, gone_ticket = payments["payment_id"].iloc[0], tickets["ticket_id"].iloc[0]
    archived = accounts.iloc[[0]].assign(is_deleted="true")

    def tombstone(source: str, name: str, key: str) -> tuple:
        ent = entity(source, name)
        row = dict.fromkeys(ent.columns) | {ent.key[0]: key, "is_deleted": "true"}
        return ent, pd.DataFrame([row], dtype="string")

    # The next day's incremental batches: two tombstones and a soft-deleted account.
    for ent, frame in (
        tombstone("erp", "payments", gone_payment),
        tombstone("crm", "tickets", gone_ticket),
        (entity("crm", "accounts"), archived),
    ):
        outcome = land_batch(frame, ent, settings.lake_dir, AS_OF, origin="test", validate=False)
        assert (outcome.rows_landed, outcome.rows_quarantined) == (len(frame), 0)

    dbt_build(settings, AS_OF)
    with duckdb.connect(str(settings.build_db), read_only=True) as con:
        def ids(sql: str) -> set[str]:
            return {r[0] for r in con.execute(sql).fetchall()}

        assert gone_payment not in ids("select payment_id from main_staging.stg_erp__payments")
        assert len(ids("select payment_id from main_staging.stg_erp__payments")) == (
            len(payments) - 1
        )
        assert gone_ticket not in ids("select ticket_id from main_staging.stg_crm__tickets")
        flagged = con.execute(
            "select is_deleted from main.dim_customers where account_id = ?",
            [archived["account_id"].iloc[0]],
        ).fetchall()
    assert flagged == [(True,)]
