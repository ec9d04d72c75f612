"""Run the Great Expectations mart suites against the build warehouse (the "audit" of
write-audit-publish).

GX's SQL datasource cannot compute metrics on DuckDB, so no mart is read whole: row-wise
expectations run on bounded pandas batches read from DuckDB, and whole-table ones (row
count, uniqueness, mean, sum, distinct values) are computed by DuckDB over every row
(:mod:`kam_transforms.validate_batches`). Every expectation is either blocking or a warning
(:mod:`expectations.config`). Each run

- compares volume and drift against the previous *published* run (the serving warehouse,
  read-only, or a copy of it when a BI client holds it read-write),
- appends every expectation's outcome to ``validation_runs`` in the audit warehouse,
- rebuilds the GX Data Docs site and writes a JSON report, and
- raises :class:`ValidationFailed`, naming each blocking failure and its row counts, which
  stops the run before publish.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from kam_transforms import duck

__all__ = [
    "ExpectationOutcome",
    "ValidationFailed",
    "ValidationReport",
    "data_docs_index",
    "validate_marts",
]

log = logging.getLogger(__name__)

VALIDATION_RUNS_DDL = """
create table if not exists validation_runs (
    run_id varchar not null,
    as_of_date date not null,
    validated_at timestamp not null,
    suite varchar not null,
    expectation varchar not null,
    column_name varchar,
    severity varchar not null,
    success boolean not null,
    unexpected_count bigint,
    element_count bigint,
    observed_value varchar,
    kwargs varchar,
    build_id varchar
)
"""


@dataclass(frozen=True)
class ExpectationOutcome:
    suite: str
    expectation: str
    column: str | None
    success: bool
    unexpected_count: int | None
    element_count: int | None
    sample: list[str]
    severity: str = "blocking"
    observed_value: str | None = None
    kwargs: str = "{}"

    def describe(self) -> str:
        where = f" on {self.column}" if self.column else ""
        if self.unexpected_count is not None:
            detail = f": {self.unexpected_count} of {self.element_count} rows"
        elif self.observed_value is not None:
            detail = f": observed {self.observed_value}, expected {self.kwargs}"
        else:
            detail = ""
        sample = f" (e.g. {', '.join(self.sample[:3])})" if self.sample else ""
        return f"{self.suite}.{self.expectation}{where}{detail}{sample}"


@dataclass
class ValidationReport:
    as_of: str
    run_id: str
    outcomes: list[ExpectationOutcome] = field(default_factory=list)
    path: str | None = None
    data_docs: str | None = None
    build_id: str | None = None
    #: How each mart was read for GX: "duckdb" (bounded batches of the DuckDB build, or of a
    #: local DuckDB copy of a PostgreSQL mart) or "sql" (a table asset of GX's SQL datasource;
    #: PostgreSQL only, see kam_transforms.pgwarehouse.validate).
    batch_modes: dict[str, str] = field(default_factory=dict)

    @property
    def blocking_failures(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success and o.severity == "blocking"]

    @property
    def warnings(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success and o.severity != "blocking"]

    @property
    def success(self) -> bool:
        return not self.blocking_failures

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of,
            "run_id": self.run_id,
            "build_id": self.build_id,
            "success": self.success,
            "evaluated": len(self.outcomes),
            "failed": [o.describe() for o in self.blocking_failures],
            "warnings": [o.describe() for o in self.warnings],
            "report": self.path,
            "data_docs": self.data_docs,
            "batch_modes": self.batch_modes,
        }


class ValidationFailed(RuntimeError):
    """A blocking expectation failed: the build must not be published."""

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        lines = "\n  ".join(o.describe() for o in report.blocking_failures)
        super().__init__(
            f"{len(report.blocking_failures)} blocking expectation(s) failed as of "
            f"{report.as_of}:\n  {lines}"
        )


def data_docs_index(gx_root: Path) -> Path:
    return gx_root / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"


def _context(gx: Any, gx_root: Path | None = None) -> Any:
    """A GX context without progress bars: on disk (for Data Docs) or ephemeral."""
    from great_expectations.data_context.types.base import ProgressBarsConfig

    if gx_root is None:
        context = gx.get_context(mode="ephemeral")
    else:
        gx_root.mkdir(parents=True, exist_ok=True)
        context = gx.get_context(mode="file", project_root_dir=str(gx_root))
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def _short(value: Any) -> str | None:
    if value is None:
        return None
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text if len(text) <= 200 else text[:197] + "..."


def _outcomes(
    suite_name: str, result: Any, severity: Any = lambda _e, _c: "blocking"
) -> list[ExpectationOutcome]:
    """One outcome per expectation of a GX suite validation result."""
    outcomes = []
    for r in result.results:
        cfg = r.expectation_config
        details = r.result or {}
        column = cfg.kwargs.get("column")
        kwargs = {k: v for k, v in cfg.kwargs.items() if k not in ("batch_id", "column")}
        outcomes.append(
            ExpectationOutcome(
                suite=suite_name,
                expectation=cfg.type,
                column=column,
                success=bool(r.success),
                unexpected_count=details.get("unexpected_count"),
                element_count=details.get("element_count"),
                sample=[str(v) for v in details.get("partial_unexpected_list") or []][:10],
                severity=severity(cfg.type, column),
                observed_value=_short(details.get("observed_value")),
                kwargs=json.dumps(kwargs, sort_keys=True, default=str),
            )
        )
    return outcomes


@contextmanager
def _published(serving_db: Path) -> Iterator[duckdb.DuckDBPyConnection | None]:
    """A read-only connection to the published warehouse (the baseline), or None before the
    first publish.

    A process holding the file read-write (a BI client) makes DuckDB refuse even a read-only
    open; the baseline is then read from a copy of the file (the published version: a
    writer's uncommitted work is in its write-ahead log, which is not copied), so a reader
    never fails validation.
    """
    if not serving_db.exists():
        yield None
        return
    try:
        con = duck.connect(serving_db, read_only=True)
    except duckdb.IOException as exc:
        if "lock" not in str(exc).lower():
            raise
        log.warning("%s is held read-write (%s): validating against a copy", serving_db, exc)
        with tempfile.TemporaryDirectory(prefix="kam-baseline-") as tmp:
            copy = Path(tmp) / serving_db.name
            shutil.copyfile(serving_db, copy)
            with duck.connect(copy, read_only=True) as con:
                yield con
        return
    with con:
        yield con


def _baseline(con: duckdb.DuckDBPyConnection | None, sql: str | None) -> dict[str, Any] | None:
    """Metrics of the previous published table, or None before the first publish."""
    if not sql or con is None:
        return None
    try:
        cursor = con.execute(sql)
        row = cursor.fetchone()
        names = [d[0] for d in cursor.description]
    except duckdb.CatalogException:  # the table is new in this build
        return None
    return dict(zip(names, row, strict=True)) if row else None


def _record(audit_db: Path, report: ValidationReport) -> None:
    audit_db.parent.mkdir(parents=True, exist_ok=True)
    validated_at = datetime.now(UTC).replace(tzinfo=None)
    rows = pd.DataFrame(
        [
            {
                "run_id": report.run_id,
                "as_of_date": date.fromisoformat(report.as_of),
                "validated_at": validated_at,
                "suite": o.suite,
                "expectation": o.expectation,
                "column_name": o.column,
                "severity": o.severity,
                "success": o.success,
                "unexpected_count": o.unexpected_count,
                "element_count": o.element_count,
                "observed_value": o.observed_value,
                "kwargs": o.kwargs,
                "build_id": report.build_id,
            }
            for o in report.outcomes
        ]
    )
    with duck.connect(audit_db) as con:
        con.execute(VALIDATION_RUNS_DDL)
        con.execute("alter table validation_runs add column if not exists build_id varchar")
        con.register("outcomes", rows)
        con.execute("delete from validation_runs where run_id = ?", [report.run_id])
        con.execute(
            "insert into validation_runs (run_id, as_of_date, validated_at, suite, expectation, "
            "column_name, severity, success, unexpected_count, element_count, observed_value, "
            "kwargs, build_id) select run_id, as_of_date, validated_at, suite, expectation, "
            "column_name, severity, success, unexpected_count, element_count, observed_value, "
            "kwargs, build_id::varchar from outcomes"
        )


def validate_marts(
    build_db: Path,
    schema: str,
    as_of: date,
    *,
    serving_db: Path,
    audit_db: Path,
    reports_dir: Path,
    gx_root: Path,
    run_id: str,
    suites: tuple[Any, ...] | None = None,
    build_id: str | None = None,
    marts: Any = None,
) -> ValidationReport:
    """Validate every mart suite; record and report; raise ``ValidationFailed`` if blocked.

    Parameters
    ----------
    build_db, schema
        The DuckDB file dbt built and the schema holding its marts.
    serving_db
        The currently published warehouse: volume and drift are measured against it.
    audit_db
        Where ``validation_runs`` accumulates every run's outcome per expectation.
    gx_root
        The GX project folder whose Data Docs site is rebuilt.
    suites
        Suite modules; defaults to ``expectations.MART_SUITES``.
    build_id
        The build (:mod:`kam_transforms.builds`) being validated: carried by the report and
        every ``validation_runs`` row.
    marts
        A PostgreSQL build instead of ``build_db`` and ``serving_db``
        (``kam_transforms.pgwarehouse.validate.PostgresMarts``): ``baseline(sql)`` on its
        serving schema, ``sql_batch(context, module, suite)`` (a batch definition of GX's SQL
        datasource for a suite that can run in SQL, else None) and ``duckdb_copy(table)`` (a
        local DuckDB file holding the mart, copied in bounded batches, for the batched runner).
    """
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier

    from expectations import config as expectations_config

    if suites is None:
        from expectations import MART_SUITES

        suites = MART_SUITES
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    from kam_transforms.validate_batches import batch_rows, validate_suite

    rows = batch_rows()
    config = expectations_config.load()
    context = _context(gx, gx_root)
    batch_context = _context(gx)  # the per-batch runs: nothing of them is stored
    source = context.data_sources.add_or_update_pandas("kam_build")
    gx_run = RunIdentifier(
        run_name=f"kam-{as_of.isoformat()}",
        run_time=datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC),
    )
    report = ValidationReport(as_of=as_of.isoformat(), run_id=run_id, build_id=build_id)
    if marts is not None:
        baselines = {m.TABLE: marts.baseline(m.BASELINE_SQL) for m in suites}
    else:
        with _published(serving_db) as published:
            baselines = {m.TABLE: _baseline(published, m.BASELINE_SQL) for m in suites}
    for module in suites:
        baseline = baselines[module.TABLE]
        suite = context.suites.add_or_update(module.build(gx, baseline, config))

        def severity(expectation: str, column: str | None, _suite: str = suite.name) -> str:
            return expectations_config.severity_of(config, _suite, expectation, column)

        sql_batch = marts.sql_batch(context, module, suite) if marts is not None else None
        if sql_batch is not None:
            sql_result = context.validation_definitions.add_or_update(
                gx.ValidationDefinition(name=module.TABLE, data=sql_batch, suite=suite)
            ).run(run_id=gx_run, result_format="SUMMARY")
            if not any(
                (r.exception_info or {}).get("raised_exception") for r in sql_result.results
            ):
                report.batch_modes[module.TABLE] = "sql"
                report.outcomes.extend(_outcomes(suite.name, sql_result, severity))
                continue
            log.warning("%s: GX's SQL datasource raised; validating DuckDB batches", module.TABLE)
        report.batch_modes[module.TABLE] = "duckdb"
        mart_db, mart_schema = (
            (marts.duckdb_copy(module.TABLE), "main") if marts is not None else (build_db, schema)
        )
        # The whole-table result is stored as a run of the suite on the mart would be, so
        # Data Docs show one validation per suite and run.
        try:
            asset = source.get_asset(module.TABLE)
        except LookupError:
            asset = source.add_dataframe_asset(module.TABLE)
        batch_definition = next(iter(asset.batch_definitions), None) or (
            asset.add_batch_definition_whole_dataframe("whole")
        )
        definition = context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=module.TABLE, data=batch_definition, suite=suite)
        )
        batch_id = batch_definition.get_batch(batch_parameters={"dataframe": pd.DataFrame()}).id
        result, batches = validate_suite(
            gx, batch_context, module, suite,
            build_db=mart_db, schema=mart_schema, rows=rows, batch_id=batch_id,
        )  # fmt: skip
        result.meta.update(
            validation_id=definition.id, checkpoint_id=None, run_id=gx_run,
            validation_time=gx_run.run_time, batch_parameters={"dataframe": "<DATAFRAME>"},
        )  # fmt: skip
        suite_id = ExpectationSuiteIdentifier(name=suite.name)
        context.validation_results_store.store_validation_results(
            suite_validation_result=result,
            suite_validation_result_identifier=ValidationResultIdentifier(
                expectation_suite_identifier=suite_id, run_id=gx_run, batch_identifier=batch_id
            ),
            expectation_suite_identifier=suite_id,
        )
        log.info("validated %s in %d batch(es) of at most %d rows", module.TABLE, batches, rows)
        report.outcomes.extend(_outcomes(suite.name, result, severity))

    if marts is not None:
        marts.close()  # the local DuckDB copies of PostgreSQL marts
    context.build_data_docs()
    from kam_transforms.datadocs import make_offline

    make_offline(data_docs_index(gx_root).parent)
    report.data_docs = str(data_docs_index(gx_root))
    _record(audit_db, report)
    reports_dir.mkdir(parents=True, exist_ok=True)
    path = reports_dir / f"validation_{as_of.isoformat()}.json"
    report.path = str(path)
    payload = report.as_dict() | {"outcomes": [asdict(o) for o in report.outcomes]}
    path.write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")
    for warning in report.warnings:
        log.warning("validation warning: %s", warning.describe())
    if not report.success:
        raise ValidationFailed(report)
    log.info("validation passed: %d expectations as of %s", len(report.outcomes), as_of)
    return report
