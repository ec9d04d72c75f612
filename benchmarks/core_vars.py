"""The dbt vars the benchmark's hand-written cores (the SQL floor, pandas) depend on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["DBT_PROJECT_YML", "CoreVars"]

DBT_PROJECT_YML = Path(__file__).resolve().parent.parent / "dbt_project" / "dbt_project.yml"


@dataclass(frozen=True)
class CoreVars:
    """The dbt vars the core depends on (their values in ``dbt_project.yml``)."""

    trailing_months: int
    tier_comparison_days: int
    cutoff_a: float
    cutoff_b: float
    band: float
    cancelled_statuses: tuple[str, ...]
    base_currency: str

    @classmethod
    def from_dbt_project(cls, path: Path = DBT_PROJECT_YML, base_currency: str = "USD") -> CoreVars:
        import yaml

        dbt_vars = yaml.safe_load(path.read_text(encoding="utf-8"))["vars"]
        if dbt_vars["abc_measure"] != "gross_margin":
            raise ValueError("the floor implements abc_measure = gross_margin only")
        return cls(
            trailing_months=int(dbt_vars["trailing_months"]),
            tier_comparison_days=int(dbt_vars["tier_comparison_days"]),
            cutoff_a=float(dbt_vars["abc_cutoff_a"]),
            cutoff_b=float(dbt_vars["abc_cutoff_b"]),
            band=float(dbt_vars["abc_hysteresis_band"]),
            cancelled_statuses=tuple(str(s) for s in dbt_vars["cancelled_order_statuses"]),
            base_currency=base_currency,
        )
