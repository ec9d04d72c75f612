"""Run the Great Expectations mart suites against the build warehouse.

GX's SQL datasource cannot compute metrics on DuckDB, so each mart is read from DuckDB into
pandas and validated as a dataframe batch. The outcome of every expectation is written to a
JSON report; a failure raises :class:`ValidationFailed` naming each failed expectation and
how many rows broke it, which stops the run before publish.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from kam_transforms.warehouse import read_table

__all__ = ["ExpectationOutcome", "ValidationFailed", "ValidationReport", "validate_marts"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExpectationOutcome:
    suite: str
    expectation: str
    column: str | None
    success: bool
    unexpected_count: int | None
    element_count: int | None
    sample: list[Any]

    def describe(self) -> str:
        where = f" on {self.column}" if self.column else ""
        count = (
            f": {self.unexpected_count} of {self.element_count} rows"
            if self.unexpected_count is not None
            else ""
        )
        sample = f" (e.g. {self.sample[:3]})" if self.sample else ""
        return f"{self.suite}.{self.expectation}{where}{count}{sample}"


@dataclass
class ValidationReport:
    as_of: str
    outcomes: list[ExpectationOutcome] = field(default_factory=list)
    path: str | None = None

    @property
    def success(self) -> bool:
        return all(o.success for o in self.outcomes)

    @property
    def failures(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success]

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of,
            "success": self.success,
            "evaluated": len(self.outcomes),
            "failed": [o.describe() for o in self.failures],
            "report": self.path,
        }


class ValidationFailed(RuntimeError):
    """A mart suite failed: the build must not be published."""

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        lines = "\n  ".join(o.describe() for o in report.failures)
        super().__init__(
            f"{len(report.failures)} of {len(report.outcomes)} expectations failed "
            f"as of {report.as_of}:\n  {lines}"
        )


def _context(gx: Any) -> Any:
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def _outcomes(suite_name: str, result: Any) -> list[ExpectationOutcome]:
    outcomes = []
    for r in result.results:
        cfg = r.expectation_config
        details = r.result or {}
        outcomes.append(
            ExpectationOutcome(
                suite=suite_name,
                expectation=cfg.type,
                column=cfg.kwargs.get("column"),
                success=bool(r.success),
                unexpected_count=details.get("unexpected_count"),
                element_count=details.get("element_count"),
                sample=[str(v) for v in details.get("partial_unexpected_list") or []][:10],
            )
        )
    return outcomes


def validate_marts(
    build_db: Path,
    schema: str,
    as_of: date,
    reports_dir: Path,
    suites: tuple[Any, ...] | None = None,
) -> ValidationReport:
    """Validate every mart suite; write the report; raise ``ValidationFailed`` on failure.

    Parameters
    ----------
    build_db
        The DuckDB file dbt built.
    schema
        The schema holding the marts in ``build_db``.
    suites
        Suite modules (``TABLE`` and ``build(gx)``); defaults to ``expectations.MART_SUITES``.
    """
    import great_expectations as gx

    if suites is None:
        from expectations import MART_SUITES

        suites = MART_SUITES
    context = _context(gx)
    source = context.data_sources.add_pandas("kam_build")
    report = ValidationReport(as_of=as_of.isoformat())
    for module in suites:
        frame = read_table(build_db, schema, module.TABLE)
        asset = source.add_dataframe_asset(module.TABLE)
        batch = asset.add_batch_definition_whole_dataframe("whole").get_batch(
            batch_parameters={"dataframe": frame}
        )
        suite = context.suites.add(module.build(gx))
        report.outcomes.extend(_outcomes(suite.name, batch.validate(suite)))

    reports_dir.mkdir(parents=True, exist_ok=True)
    path = reports_dir / f"validation_{as_of.isoformat()}.json"
    payload = report.as_dict() | {"outcomes": [o.__dict__ for o in report.outcomes]}
    path.write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")
    report.path = str(path)
    if not report.success:
        raise ValidationFailed(report)
    log.info("validation passed: %d expectations as of %s", len(report.outcomes), as_of)
    return report
