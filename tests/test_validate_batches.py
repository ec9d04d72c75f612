"""Mart validation in bounded batches: with a tiny batch size every multi-batch mart validates
exactly as Great Expectations on the whole table does, no batch exceeds the size, no table is
read whole, and a bad row planted in the last batch is caught with its reason."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dbt_build import AS_OF, Build

from kam_transforms import validate_batches, warehouse
from kam_transforms.validate import ValidationFailed, ValidationReport, validate_marts

TINY = 53  # rows per batch: every mart of the 400-customer build spans several batches


def _suites() -> tuple[Any, ...]:
    # whole-table metrics on real and derived columns (mean of is_class_a, unique derived
    # keys), row-wise ones on prepared columns, the drift checks against a baseline, and an
    # empty mart (no data quality issues in the clean build)
    from expectations import (
        account_plan_attainment,
        customer_demand_forecast,
        customer_tiers,
        data_quality_issues,
    )

    return (customer_tiers, customer_demand_forecast, account_plan_attainment, data_quality_issues)


def _validate(db: Path, out: Path, serving: Path, **kw: Any) -> ValidationReport:
    return validate_marts(
        db, "main", AS_OF, serving_db=serving, audit_db=out / "audit.duckdb",
        reports_dir=out / "reports", gx_root=out / "gx", run_id="batches", suites=_suites(),
        **kw,
    )  # fmt: skip


def _whole_table(db: Path, serving: Path) -> list[Any]:
    """The suites run as before: GX on each whole mart read into one pandas frame."""
    import great_expectations as gx

    from expectations import config as expectations_config
    from kam_transforms.validate import _baseline, _context, _outcomes, _published

    config = expectations_config.load()
    context = _context(gx)
    source = context.data_sources.add_pandas("whole")
    outcomes: list[Any] = []
    for module in _suites():
        with _published(serving) as published:
            baseline = _baseline(published, module.BASELINE_SQL)
        with duckdb.connect(str(db), read_only=True) as con:  # as read_table did
            frame = con.execute(f"select * from main.{module.TABLE}").df()  # noqa: S608
        if hasattr(module, "prepare"):
            frame = module.prepare(frame)
        suite = context.suites.add(module.build(gx, baseline, config))
        batch = source.add_dataframe_asset(module.TABLE).add_batch_definition_whole_dataframe("w")
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=module.TABLE, data=batch, suite=suite)
        )
        result = definition.run(batch_parameters={"dataframe": frame}, result_format="SUMMARY")
        outcomes += _outcomes(suite.name, result)
    return outcomes


def _by_key(outcomes: list[Any]) -> dict[tuple[str, ...], dict[str, Any]]:
    return {
        (o.suite, o.expectation, o.column or "", o.kwargs): {
            "success": o.success,
            "unexpected_count": o.unexpected_count,
            "element_count": o.element_count,
            "sample": o.sample,
            "observed_value": o.observed_value,
        }
        for o in outcomes
    }


def _same(bounded: list[Any], whole: list[Any]) -> None:
    mine, theirs = _by_key(bounded), _by_key(whole)
    assert mine.keys() == theirs.keys()
    for key, expected in theirs.items():
        got = mine[key]
        if key[1] == "expect_column_sum_to_be_between":  # float sums: the last digit may differ
            assert math.isclose(
                float(got.pop("observed_value")), float(expected.pop("observed_value")),
                rel_tol=1e-12,
            ), key  # fmt: skip
        assert got == expected, key


def _batch_meta(out: Path, table: str) -> dict[str, Any]:
    (path,) = (out / "gx" / "gx" / "uncommitted" / "validations" / table).rglob("*.json")
    return dict(json.loads(path.read_text(encoding="utf-8"))["meta"])


@pytest.fixture
def bounded(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A tiny batch size, and the sizes of the frames validation reads (warehouse has no
    whole-table reader left to call: every frame comes through _Table.batches)."""
    monkeypatch.setenv(validate_batches.BATCH_ROWS_ENV, str(TINY))
    sizes: list[int] = []
    batches = validate_batches._Table.batches

    def recorded(self: Any, rows: int) -> Any:
        for frame in batches(self, rows):
            sizes.append(len(frame))
            yield frame

    monkeypatch.setattr(validate_batches._Table, "batches", recorded)
    assert not hasattr(warehouse, "read_table")
    return sizes


def test_tiny_batches_validate_as_the_whole_table_does(
    build: Build, tmp_path: Path, bounded: list[int]
) -> None:
    # the build as its own previous publish: the volume and drift expectations are in play
    serving = tmp_path / "serving.duckdb"
    shutil.copy(build.db_path, serving)
    report = _validate(build.db_path, tmp_path / "bounded", serving)
    assert report.success, report.as_dict()["failed"]
    assert max(bounded) <= TINY
    for module in _suites():
        rows = int(build.query(f"select count(*) as n from {module.TABLE}")["n"].iloc[0])
        meta = _batch_meta(tmp_path / "bounded", module.TABLE)
        assert meta["kam_batches"] == max(1, math.ceil(rows / TINY)), module.TABLE
        assert rows > TINY or module.TABLE == "data_quality_issues", (module.TABLE, rows)
    kinds = {o.expectation for o in report.outcomes}
    assert {"expect_column_mean_to_be_between", "expect_column_sum_to_be_between",
            "expect_column_values_to_be_unique"} <= kinds  # fmt: skip
    _same(report.outcomes, _whole_table(build.db_path, serving))


def test_a_bad_row_in_the_last_batch_is_caught_with_its_reason(
    build: Build, tmp_path: Path, bounded: list[int]
) -> None:
    db = tmp_path / "build.duckdb"
    shutil.copy(build.db_path, db)
    with duckdb.connect(str(db)) as con:
        (last,) = con.execute(
            "select customer_id from customer_tiers order by rowid desc limit 1"
        ).fetchone()  # type: ignore[misc]
        con.execute("update customer_tiers set abc_class = 'Z' where customer_id = ?", [last])
        # a repeated forecast row, appended: the duplicate key is in the last batch only
        (first_key,) = con.execute(
            "select customer_id || '|' || product_category || '|' || horizon_months "
            "from customer_demand_forecast order by rowid limit 1"
        ).fetchone()  # type: ignore[misc]
        con.execute(
            "insert into customer_demand_forecast "
            "select * from customer_demand_forecast order by rowid limit 1"
        )
        (rows,) = con.execute("select count(*) from customer_demand_forecast").fetchone()  # type: ignore[misc]
    with pytest.raises(ValidationFailed) as caught:
        _validate(db, tmp_path / "out", tmp_path / "no-serving.duckdb")
    failed = {(o.suite, o.expectation, o.column): o for o in caught.value.report.blocking_failures}
    assert set(failed) == {
        ("customer_tiers", "expect_column_values_to_be_in_set", "abc_class"),
        ("customer_demand_forecast", "expect_column_values_to_be_unique",
         "account_category_horizon"),
    }  # fmt: skip
    tiers = failed[("customer_tiers", "expect_column_values_to_be_in_set", "abc_class")]
    assert (tiers.unexpected_count, tiers.element_count, tiers.sample) == (1, 400, ["Z"])
    dup = failed[("customer_demand_forecast", "expect_column_values_to_be_unique",
                  "account_category_horizon")]  # fmt: skip
    assert (dup.unexpected_count, dup.element_count, dup.sample) == (2, rows, [first_key] * 2)
    message = str(caught.value)
    assert "customer_tiers.expect_column_values_to_be_in_set on abc_class: 1 of 400 rows " \
        "(e.g. Z)" in message
    # the row numbers GX reports are the table's: the first row and the appended last one
    (path,) = (tmp_path / "out" / "gx" / "gx" / "uncommitted" / "validations"
               / "customer_demand_forecast").rglob("*.json")  # fmt: skip
    results = json.loads(path.read_text(encoding="utf-8"))["results"]
    (unique,) = [r for r in results if r["expectation_config"]["type"].endswith("to_be_unique")]
    assert unique["result"]["partial_unexpected_index_list"] == [0, rows - 1]
    assert max(bounded) <= TINY
