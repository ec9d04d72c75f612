"""Landing of crm/account_plans from file drops: row rules and quarantine reasons, and a source
without plans (absent or header-only export) landing an empty batch."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
from test_extract_landing import AS_OF, fx_drop, raw_rows, write

from kam_transforms.entities import entity
from kam_transforms.extract.filedrop import FileDropConnector
from kam_transforms.extract.run import run_extract

NEXT = date(2026, 11, 1)

PLANS = entity("crm", "account_plans")
HEADER = ",".join(PLANS.columns)


def test_bad_plan_rows_are_quarantined_with_their_reason(tmp_path: Path) -> None:
    exports, lake = tmp_path / "x", tmp_path / "lake"
    fx_drop(exports, lake)
    lines = [
        "P1,A1,O1,2026-01-01,2026-12-31,100000,30000,EUR,Grow share,Active,2026-01-05T10:00:00Z",
        "P2,A1,O1,2026-01-01,2026-12-31,100000,30000,EUR,x,approved,2026-01-05T10:00:00Z",
        "P3,A2,O1,2026-12-31,2026-01-01,100000,30000,USD,x,draft,2026-01-05T10:00:00Z",
        "P4,A2,O1,2026-01-01,2026-12-31,-5,30000,USD,x,draft,2026-01-05T10:00:00Z",
        "P5,A3,O2,2026-01-01,2026-12-31,100,30,XYZ,x,closed,2026-01-05T10:00:00Z",
        "P6,,O2,2026-01-01,2026-12-31,100,30,USD,x,closed,2026-01-05T10:00:00Z",
        "P7,A3,O2,2026-01-01,2026-12-31,,,CNY,扩大份额,closed,2026-01-05T10:00:00Z",
    ]
    write(exports / "crm" / "account_plans.csv", "\n".join([HEADER, *lines]) + "\n")
    result = run_extract(FileDropConnector(exports), PLANS, lake, AS_OF)

    assert result["rows_in"] == 7 == result["rows_landed"] + result["rows_quarantined"]
    landed = raw_rows(lake, PLANS)
    assert [(r["plan_id"], r["status"], r["objective"]) for r in landed] == [
        ("P1", "active", "Grow share"),  # status normalised to lower case
        ("P7", "closed", "扩大份额"),  # targets may be empty; text stays UTF-8
    ]
    bad = pq.read_table(result["quarantine_path"]).to_pylist()
    assert [(r["_row_number"], r["_reason"]) for r in bad] == [
        (2, "status 'approved' is not one of draft, active, closed"),
        (3, "period_end '2026-01-01' is before period_start '2026-12-31'"),
        (4, "negative revenue_target: '-5'"),
        (5, "unknown currency in currency: 'XYZ'"),
        (6, "required value account_id is empty"),
    ]
    assert result["quarantine_reasons"] == {
        "status_not_allowed": 1,
        "period_end_before_period_start": 1,
        "negative_revenue_target": 1,
        "unknown_currency": 1,
        "required_value_missing": 1,
    }


def test_a_source_without_plans_lands_nothing_or_an_empty_batch(tmp_path: Path) -> None:
    exports, lake = tmp_path / "x", tmp_path / "lake"
    fx_drop(exports, lake)
    # absent: no account_plans export at all -> skipped, nothing lands (dbt reads "no plan")
    result = run_extract(FileDropConnector(exports), PLANS, lake, AS_OF)
    assert result["skipped"].startswith("optional entity, no export")
    assert (result["rows_in"], result["rows_landed"], result["batch_id"]) == (0, 0, None)
    assert not (lake / "raw" / "crm" / "account_plans").exists()

    # header-only: allowed for this optional entity without declaring allow_empty; an empty
    # full snapshot, so the plans landed before are deleted
    write(
        exports / "crm" / "account_plans.csv",
        HEADER + "\nP1,A1,O1,2026-01-01,2026-12-31,1000,300,USD,x,active,2026-01-05T10:00:00Z\n",
    )
    assert run_extract(FileDropConnector(exports), PLANS, lake, AS_OF)["rows_landed"] == 1
    write(exports / "crm" / "account_plans.csv", HEADER + "\n")
    result = run_extract(FileDropConnector(exports), PLANS, lake, NEXT)
    assert (result["rows_in"], result["rows_landed"], result["rows_deleted"]) == (0, 0, 1)
    (tombstone,) = raw_rows(lake, PLANS, NEXT)
    assert (tombstone["plan_id"], tombstone["is_deleted"]) == ("P1", "true")


def test_an_absent_required_entity_still_fails(tmp_path: Path) -> None:
    import pytest

    from kam_transforms.extract.files import ExtractError

    with pytest.raises(ExtractError, match="export for crm/surveys not found"):
        run_extract(
            FileDropConnector(tmp_path / "x"), entity("crm", "surveys"), tmp_path / "lake", AS_OF
        )
