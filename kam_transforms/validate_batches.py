"""One mart suite validated on bounded batches, with its whole-table metrics from DuckDB.

No step holds a whole mart in pandas. The suite's expectations fall in two kinds:

- **row-wise** (null, not null, in a set, between, regex): Great Expectations evaluates them
  on each batch of at most ``KAM_VALIDATION_BATCH_ROWS`` rows (default 100,000) read from
  DuckDB as Arrow record batches, after the suite's ``prepare``; the batches' counts and
  samples are merged (rows, nulls, unexpected rows, the first unexpected values and their row
  numbers in table order) and GX's own ``_validate`` turns the merged metrics into the result,
  so ``mostly``, the percentages and the sample are what one whole-table run gives;
- **whole-table** (row count, uniqueness, mean, sum, distinct values containing a set):
  DuckDB computes the metric over every row of the table, or, for a column that ``prepare``
  derives, over that column staged from the batches into a spilling DuckDB table; GX's
  ``_validate`` again judges it.

The result is one GX suite validation result per mart, as a whole-table run gives, so the
outcomes, ``validation_runs`` and Data Docs keep their form.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from kam_transforms import duck
from kam_transforms.duck import quote_ident

__all__ = ["BATCH_ROWS_ENV", "ROW_WISE", "WHOLE_TABLE", "batch_rows", "validate_suite"]

BATCH_ROWS_ENV = "KAM_VALIDATION_BATCH_ROWS"
DEFAULT_BATCH_ROWS = 100_000
#: GX keeps this many unexpected values (result format SUMMARY).
SAMPLE = 20

ROW_WISE = frozenset(
    {
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_null",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_be_between",
        "expect_column_values_to_match_regex",
    }
)
WHOLE_TABLE = frozenset(
    {
        "expect_table_row_count_to_be_between",
        "expect_column_values_to_be_unique",
        "expect_column_mean_to_be_between",
        "expect_column_sum_to_be_between",
        "expect_column_distinct_values_to_contain_set",
    }
)


def batch_rows() -> int:
    """Rows per validated batch: ``KAM_VALIDATION_BATCH_ROWS``, default 100,000."""
    raw = os.environ.get(BATCH_ROWS_ENV, "").strip() or str(DEFAULT_BATCH_ROWS)
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{BATCH_ROWS_ENV}={raw!r}: expected a positive number of rows")
    return int(raw)


def _type(expectation: Any) -> str:
    return str(expectation.expectation_type)


@dataclass
class _Merged:
    """A row-wise expectation's metrics summed over the batches so far."""

    rows: int = 0
    nulls: int = 0
    unexpected: int = 0
    values: list[Any] = field(default_factory=list)
    index: list[int] = field(default_factory=list)
    first: Any = None  # the first batch's ExpectationValidationResult
    failed: Any = None  # a batch's result that raised: it is the outcome

    def add(self, result: Any) -> None:
        if self.failed is not None:
            return
        if self.first is None:
            self.first = result
        if (result.exception_info or {}).get("raised_exception"):
            self.failed = result
            return
        details = result.result or {}
        self.rows += int(details.get("element_count") or 0)
        self.nulls += int(details.get("missing_count") or 0)
        self.unexpected += int(details.get("unexpected_count") or 0)
        room = SAMPLE - len(self.values)
        if room > 0:
            self.values.extend((details.get("partial_unexpected_list") or [])[:room])
            self.index.extend((details.get("partial_unexpected_index_list") or [])[:room])


def _map_metrics(
    map_metric: str, rows: int, nulls: int, unexpected: int, values: list, index: list
) -> dict[str, Any]:
    return {
        "table.row_count": rows,
        "column_values.nonnull.unexpected_count": nulls,
        f"{map_metric}.unexpected_count": unexpected,
        f"{map_metric}.unexpected_values": values[:SAMPLE],
        f"{map_metric}.unexpected_index_list": index[:SAMPLE],
    }


def _config(expectation: Any, batch_id: str) -> Any:
    config = expectation.configuration
    config.kwargs["batch_id"] = batch_id
    return config


def _judged(expectation: Any, metrics: dict[str, Any], result_format: Any, batch_id: str) -> Any:
    """GX's verdict on ``metrics``, as the result of a validation run."""
    from great_expectations.core.expectation_validation_result import (
        ExpectationValidationResult,
    )

    verdict = expectation._validate(metrics, runtime_configuration={"result_format": result_format})
    return ExpectationValidationResult(
        success=bool(verdict["success"]),
        result=verdict.get("result") or {},
        expectation_config=_config(expectation, batch_id),
        exception_info={
            "raised_exception": False, "exception_traceback": None, "exception_message": None
        },
    )  # fmt: skip


def _raised(expectation: Any, exc: Exception, batch_id: str) -> Any:
    from great_expectations.core.expectation_validation_result import (
        ExpectationValidationResult,
    )

    return ExpectationValidationResult(
        success=False,
        result={},
        expectation_config=_config(expectation, batch_id),
        exception_info={
            "raised_exception": True,
            "exception_traceback": "".join(traceback.format_exception(exc)),
            "exception_message": str(exc),
        },
    )


class _Table:
    """The mart in the build warehouse and, for derived columns, what ``prepare`` made."""

    def __init__(self, con: duckdb.DuckDBPyConnection, schema: str, table: str) -> None:
        self.con = con
        self.name = f"{quote_ident(schema)}.{quote_ident(table)}"
        cur = con.execute(f"select * from {self.name} limit 0")  # noqa: S608 - quoted
        self.columns = [d[0] for d in cur.description]
        cur.fetchall()  # finish the result: the connection reads the table next
        self._spill = tempfile.TemporaryDirectory(prefix="kam-validate-")
        self.stage = duck.connect()
        # only names of our own making reach these statements
        self.stage.execute("set temp_directory = '" + self._spill.name.replace("'", "''") + "'")
        self.staged: list[str] = []

    def close(self) -> None:
        self.stage.close()
        self._spill.cleanup()

    def batches(self, rows: int) -> Iterator[pd.DataFrame]:
        """The table as pandas frames of at most ``rows`` rows, in table order, indexed by
        their row number in the whole table (so GX's row numbers are the table's)."""
        reader = self.con.sql(f"select * from {self.name}").to_arrow_reader(rows)  # noqa: S608
        offset, seen = 0, False
        with duck.connect() as convert:  # DuckDB's own pandas conversion, as read_table's
            for batch in reader:
                if batch.num_rows == 0:
                    continue
                seen = True
                frame = convert.from_arrow(pa.Table.from_batches([batch])).df()
                frame.index = pd.RangeIndex(offset, offset + len(frame))
                offset += len(frame)
                yield frame
            if not seen:
                yield convert.from_arrow(reader.schema.empty_table()).df()

    def stage_columns(self, frame: pd.DataFrame, columns: list[str]) -> None:
        """Append the derived ``columns`` of a prepared batch (with row numbers) to DuckDB."""
        if not columns:
            return
        part = frame[columns].copy()
        part.insert(0, "_seq", frame.index.to_numpy(dtype="int64"))
        self.stage.register("_part", part)
        if not self.staged:
            self.stage.execute("create table staged as select * from _part")
            self.staged = columns
        else:
            self.stage.execute("insert into staged select * from _part")
        self.stage.unregister("_part")

    def relation(self, column: str) -> tuple[duckdb.DuckDBPyConnection, str]:
        """Where ``column`` is, as SQL giving ``(_seq, v)`` rows, and the connection."""
        if column in self.columns:
            sql = f"select rowid as _seq, {quote_ident(column)} as v from {self.name}"  # noqa: S608
            return self.con, sql
        if column in self.staged:
            return self.stage, f"select _seq, {quote_ident(column)} as v from staged"  # noqa: S608
        raise KeyError(f'The column "{column}" in BatchData does not exist.')

    def position(self, column: str, seq: int) -> int:
        """The row number in table order of the row with rowid ``seq`` (rowids may have gaps)."""
        if column not in self.columns:
            return seq
        sql = f"select count(*) from {self.name} where rowid < ?"  # noqa: S608 - quoted
        return int(_one(self.con, sql, [seq])[0])


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> Any:
    """The single row of ``sql``, fetched to the end (DuckDB keeps a connection busy while a
    result is unfinished)."""
    (row,) = con.execute(sql, params or []).fetchall()
    return row


def _whole_table_metrics(table: _Table, expectation: Any) -> dict[str, Any]:
    kind, kwargs = _type(expectation), expectation.configuration.kwargs
    if kind == "expect_table_row_count_to_be_between":
        (rows,) = _one(table.con, f"select count(*) from {table.name}")  # noqa: S608 - quoted
        return {"table.row_count": int(rows)}
    con, rel = table.relation(kwargs["column"])
    if kind == "expect_column_values_to_be_unique":
        rows, nonnull = _one(con, f"select count(*), count(v) from ({rel})")  # noqa: S608
        dups = f"select v from ({rel}) where v is not null group by v having count(*) > 1"  # noqa: S608
        repeated = f"from ({rel}) where v in ({dups})"
        (unexpected,) = _one(con, f"select count(*) {repeated}")  # noqa: S608
        values: list[Any] = []
        index: list[int] = []
        if unexpected:
            sample = con.execute(f"select _seq, v {repeated} order by _seq limit {SAMPLE}").df()  # noqa: S608
            values = sample["v"].tolist()
            index = [table.position(kwargs["column"], int(s)) for s in sample["_seq"]]
        return _map_metrics(
            "column_values.unique", int(rows), int(rows - nonnull), int(unexpected), values, index
        )
    if kind in ("expect_column_mean_to_be_between", "expect_column_sum_to_be_between"):
        # floats with Kahan-Babuska summation (fsum/favg): close to the correctly rounded
        # total whatever the thread count (pandas' pairwise sum may differ in the last
        # digit); integers and decimals exactly
        (kind_of,) = _one(con, f"select any_value(typeof(v)) from ({rel})")  # noqa: S608
        floating = str(kind_of) in ("FLOAT", "DOUBLE", "BOOLEAN", "None")
        if kind.startswith("expect_column_mean"):
            agg = "favg(v::double)" if floating else "avg(v)"
        else:
            agg = "fsum(v::double)" if floating else "sum(v)"
        (value,) = _one(con, f"select {agg} from ({rel})")  # noqa: S608
        if isinstance(value, Decimal):
            value = float(value)
        if kind.startswith("expect_column_mean"):
            return {"column.mean": value}
        return {"column.sum": 0.0 if value is None else value}
    if kind == "expect_column_distinct_values_to_contain_set":
        wanted = list(kwargs["value_set"])
        marks = ", ".join("?" for _ in wanted)
        present = {
            row[0]
            for row in con.execute(
                f"select distinct v from ({rel}) where v in ({marks})", wanted  # noqa: S608
            ).fetchall()
        }
        missing = [v for v in wanted if v not in present]
        return {
            "column.distinct_values.missing_from_column.count": len(missing),
            "column.distinct_values.missing_from_column": missing,
        }
    raise AssertionError(kind)  # pragma: no cover - WHOLE_TABLE lists the kinds above


def _key(kind: str, kwargs: Any) -> str:
    args = {k: v for k, v in dict(kwargs).items() if k != "batch_id"}
    return kind + json.dumps(args, sort_keys=True, default=str)


def _in_suite_order(
    row_wise: list[int], expectations: list[Any], results: list[Any]
) -> list[tuple[int, Any]]:
    """Pair each batch result with its expectation's index in the suite, by the result's own
    configuration: GX does not promise results in the suite's order (a suite with two in-set
    checks had its verdicts reported under each other's columns)."""
    slots: dict[str, list[int]] = {}
    for i in row_wise:
        config = expectations[i].configuration
        slots.setdefault(_key(_type(expectations[i]), config.kwargs), []).append(i)
    paired = []
    for res in results:
        config = res.expectation_config
        paired.append((slots[_key(str(config.type), config.kwargs)].pop(0), res))
    if len(paired) != len(row_wise):
        raise AssertionError(f"{len(results)} batch results for {len(row_wise)} expectations")
    return paired


def validate_suite(
    gx: Any,
    context: Any,
    module: Any,
    suite: Any,
    *,
    build_db: Path,
    schema: str,
    rows: int,
    batch_id: str,
) -> tuple[Any, int]:
    """Validate ``module``'s mart against ``suite`` (built by the module) in batches of
    ``rows``; return GX's suite validation result for the whole table and the batch count.

    ``context`` is an ephemeral GX context for the batch runs (nothing is stored there);
    ``batch_id`` names the whole-table batch in the results (as a run on the mart would).

    Raises
    ------
    ValueError
        If the suite holds an expectation this runner does not know how to bound.
    """
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResult,
    )
    from great_expectations.expectations.expectation_configuration import parse_result_format

    result_format = parse_result_format("SUMMARY")
    expectations = list(suite.expectations)
    unknown = sorted({_type(e) for e in expectations} - ROW_WISE - WHOLE_TABLE)
    if unknown:
        raise ValueError(
            f"{module.TABLE}: no bounded validation for {', '.join(unknown)} (add it to "
            "kam_transforms.validate_batches)"
        )
    row_wise = [i for i, e in enumerate(expectations) if _type(e) in ROW_WISE]
    batch_suite = gx.ExpectationSuite(name=f"{suite.name}.batch")
    for i in row_wise:
        batch_suite.add_expectation(
            type(expectations[i])(**copy.deepcopy(expectations[i].configuration.kwargs))
        )
    batch_suite = context.suites.add_or_update(batch_suite)
    source = context.data_sources.add_or_update_pandas("kam_build")
    try:
        asset = source.get_asset(module.TABLE)
    except LookupError:
        asset = source.add_dataframe_asset(module.TABLE)
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(
            name=f"{module.TABLE}.batch",
            data=next(iter(asset.batch_definitions), None)
            or asset.add_batch_definition_whole_dataframe("batch"),
            suite=batch_suite,
        )
    )

    with duck.connect(build_db, read_only=True) as con:
        table = _Table(con, schema, module.TABLE)
        try:
            derived = sorted(
                {
                    e.configuration.kwargs["column"]
                    for e in expectations
                    if _type(e) in WHOLE_TABLE
                    and "column" in e.configuration.kwargs
                    and e.configuration.kwargs["column"] not in table.columns
                }
            )
            merged = {i: _Merged() for i in row_wise}
            meta: dict[str, Any] = {}
            batches = 0
            for frame in table.batches(rows):
                batches += 1
                if hasattr(module, "prepare"):
                    frame = module.prepare(frame)
                table.stage_columns(frame, [c for c in derived if c in frame.columns])
                if row_wise:
                    run = definition.run(
                        batch_parameters={"dataframe": frame}, result_format="SUMMARY"
                    )
                    meta = meta or dict(run.meta)
                    for i, res in _in_suite_order(row_wise, expectations, run.results):
                        merged[i].add(res)
                del frame
            results = []
            for i, expectation in enumerate(expectations):
                if i in merged:
                    m = merged[i]
                    if m.failed is not None:
                        m.failed.expectation_config = _config(expectation, batch_id)
                        results.append(m.failed)
                        continue
                    metrics = _map_metrics(
                        expectation.map_metric, m.rows, m.nulls, m.unexpected, m.values, m.index
                    )
                    results.append(_judged(expectation, metrics, result_format, batch_id))
                    continue
                try:
                    metrics = _whole_table_metrics(table, expectation)
                except (KeyError, duckdb.Error) as exc:
                    results.append(_raised(expectation, exc, batch_id))
                    continue
                results.append(_judged(expectation, metrics, result_format, batch_id))
        finally:
            table.close()
    successful = sum(1 for r in results if r.success)
    statistics = {
        "evaluated_expectations": len(results),
        "successful_expectations": successful,
        "unsuccessful_expectations": len(results) - successful,
        "success_percent": successful / len(results) * 100 if results else None,
    }
    meta = {k: v for k, v in meta.items() if k not in ("validation_id", "checkpoint_id")}
    return (
        ExpectationSuiteValidationResult(
            success=successful == len(results),
            results=results,
            suite_name=suite.name,
            statistics=statistics,
            meta=meta | {"kam_batches": batches, "kam_batch_rows": rows},
        ),
        batches,
    )
