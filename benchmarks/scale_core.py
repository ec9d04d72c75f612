"""The customer_facts core and customer_tiers ABC core, computed three ways, and compared.

The *core* is what the order history alone decides (the columns below): purchase history
and RFM scores, trailing and prior 12-month revenue and margin, lifetime value, product
breadth and discount share of ``customer_facts``; the ABC class of ``customer_tiers``
(measure, rank, cumulative share, class with and without the hysteresis band, previous
class). The rest of the marts (cost to serve, payments, CRM signals, CLV, value matrix,
key-account score) is left out of both implementations below.

- :func:`run_floor`: ``benchmarks/floor.sql``, hand-written DuckDB SQL over the lake;
- :func:`run_pandas`: the same in plain pandas, as many teams would write it;
- :func:`compare`: either result against the dbt marts of a build warehouse, row by row
  (joined on ``customer_id``), numbers to 1e-9 (relative above 1, absolute below).

Each implementation reads the landed Parquet files (``<lake>/raw/erp/<entity>/as_of=<date>/
*.parquet``, docs/CONTRACTS.md) and writes ``customer_facts_core.parquet`` and
``customer_tiers_core.parquet`` into an output folder. The dbt vars they depend on are read
from ``dbt_project/dbt_project.yml``.

Run as a script, one implementation per process (how ``bench_scale.py`` times them)::

    python benchmarks/scale_core.py floor|pandas --lake DIR --as-of DATE --out DIR
    python benchmarks/scale_core.py compare --build-db FILE --out DIR
"""

from __future__ import annotations

import argparse
import json
import string
import sys
from datetime import date
from pathlib import Path
from typing import Any

from core_vars import CoreVars

REPO = Path(__file__).resolve().parent.parent
FLOOR_SQL = Path(__file__).resolve().parent / "floor.sql"

#: customer_facts columns the core covers (one row per ERP customer).
FACTS_COLUMNS: tuple[str, ...] = (
    "customer_id", "first_order_date", "last_order_date", "tenure_days", "recency_days",
    "order_count_total", "order_count_t12m", "recency_score", "frequency_score",
    "monetary_score", "rfm_code", "revenue_t12m", "gross_margin_t12m", "revenue_prior_12m",
    "gross_margin_prior_12m", "revenue_change_share", "gross_margin_change_share",
    "gross_margin_rate_t12m", "revenue_lifetime", "gross_margin_lifetime",
    "distinct_products_t12m", "distinct_categories_t12m", "category_share_t12m",
    "average_order_value_t12m", "average_discount_share_t12m",
)
#: customer_tiers columns the core covers (one row per ERP customer).
TIERS_COLUMNS: tuple[str, ...] = (
    "customer_id", "revenue_t12m", "gross_margin_t12m", "measure_value", "measure_rank",
    "cumulative_share", "abc_class", "previous_abc_class", "is_class_changed",
    "revenue_prior_12m", "revenue_change_share", "unbanded_abc_class",
    "cumulative_share_before", "current_value",
)
#: The core's file in an output folder -> (the dbt mart, its columns).
CORE_TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "customer_facts_core": ("customer_facts", FACTS_COLUMNS),
    "customer_tiers_core": ("customer_tiers", TIERS_COLUMNS),
}
#: The landed entities the core reads.
ENTITIES: tuple[str, ...] = ("customers", "products", "orders", "order_lines", "fx_rates")
TOLERANCE = 1e-9


def _entity_glob(lake: Path, entity: str) -> str:
    return str(lake / "raw" / "erp" / entity / "as_of=*" / "*.parquet")


def _sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def render_floor(lake: Path, as_of: date, out: Path, core_vars: CoreVars) -> str:
    """``floor.sql`` with its placeholders filled (windows as DuckDB date expressions, the
    tombstone filter only for entities whose landed files carry ``is_deleted``)."""
    import duckdb

    def months_before(months: int, end: str) -> str:
        return f"cast({end} - interval ({months}) month as date)"

    as_of_sql = f"date '{as_of.isoformat()}'"
    tier_end = f"cast({as_of_sql} - interval ({core_vars.tier_comparison_days}) day as date)"
    values: dict[str, str] = {
        "lake": str(lake).replace("'", "''"),
        "out": str(out).replace("'", "''"),
        "as_of": as_of.isoformat(),
        "base_currency": core_vars.base_currency,
        "cancelled_statuses": ", ".join(_sql_literal(s) for s in core_vars.cancelled_statuses),
        "trailing_start": months_before(core_vars.trailing_months, as_of_sql),
        "prior_start": months_before(2 * core_vars.trailing_months, as_of_sql),
        "previous_start": months_before(core_vars.trailing_months, tier_end),
        "previous_end": tier_end,
        "cutoff_a": repr(core_vars.cutoff_a),
        "cutoff_b": repr(core_vars.cutoff_b),
        "band": repr(core_vars.band),
    }
    con = duckdb.connect()
    try:
        for entity in ENTITIES:
            columns = {
                row[0]
                for row in con.execute(
                    "describe select * from read_parquet(?, hive_partitioning = true, "
                    "union_by_name = true)",
                    [_entity_glob(lake, entity)],
                ).fetchall()
            }
            values[f"{entity}_live"] = (
                "coalesce(lower(cast(is_deleted as varchar)), 'false') not in ('true', '1')"
                if "is_deleted" in columns
                else "true"
            )
    finally:
        con.close()
    return string.Template(FLOOR_SQL.read_text(encoding="utf-8")).substitute(values)


def run_floor(lake: Path, as_of: date, out: Path, core_vars: CoreVars | None = None) -> None:
    """Compute the core with ``floor.sql`` into ``out``."""
    import duckdb

    out.mkdir(parents=True, exist_ok=True)
    sql = render_floor(lake, as_of, out, core_vars or CoreVars.from_dbt_project())
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        con.execute(sql)
    finally:
        con.close()


def run_pandas(lake: Path, as_of: date, out: Path, core_vars: CoreVars | None = None) -> None:
    """Compute the core in pandas into ``out`` (see :mod:`scale_pandas`)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from scale_pandas import core_frames

    out.mkdir(parents=True, exist_ok=True)
    facts, tiers = core_frames(lake, as_of, core_vars or CoreVars.from_dbt_project())
    facts.to_parquet(out / "customer_facts_core.parquet", index=False)
    tiers.to_parquet(out / "customer_tiers_core.parquet", index=False)


def compare(build_db: Path, out: Path, schema: str = "main") -> dict[str, Any]:
    """Compare the core files in ``out`` with the marts in ``build_db``, row by row.

    Returns, per core table: rows on each side, ``mismatched_rows`` (rows missing on one
    side, or with any column differing: a null against a value, a different string, date
    or boolean, or numbers further apart than 1e-9 x max(1, |mart value|)), ``missing_rows``,
    ``mismatches_per_column`` (among the rows on both sides) and up to 5 example ids.
    """
    import duckdb

    result: dict[str, Any] = {}
    con = duckdb.connect()
    try:
        con.execute("attach ? as build (read_only)", [str(build_db)])
        for core, (mart, columns) in CORE_TABLES.items():
            types = dict(
                con.execute(
                    "select column_name, data_type from information_schema.columns "
                    "where table_catalog = 'build' and table_schema = ? and table_name = ?",
                    [schema, mart],
                ).fetchall()
            )
            missing = [c for c in columns if c not in types]
            if missing:
                raise RuntimeError(f"build.{schema}.{mart} lacks column(s) {missing}")
            checks = []
            for column in columns[1:]:
                a, b = f'm."{column}"', f'c."{column}"'
                differs = f"(({a} is null) <> ({b} is null))"
                if types[column] in ("DOUBLE", "FLOAT", "INTEGER", "BIGINT", "HUGEINT") or (
                    types[column].startswith("DECIMAL")
                ):
                    differs += (
                        f" or abs(cast({a} as double) - cast({b} as double)) > "
                        f"{TOLERANCE} * greatest(1.0, abs(cast({a} as double)))"
                    )
                else:
                    differs += f" or {a} <> {b}"
                checks.append(f'coalesce({differs}, false) as "{column}"')
            # identifiers from the allow-list CORE_TABLES only; the file is a bound value
            con.execute(
                "create or replace temp table core as select * from read_parquet(?)",
                [str(out / f"{core}.parquet")],
            )
            where = " where customer_id is not null" if mart == "customer_facts" else ""
            con.execute(
                f'create or replace temp table mart as select * from build."{schema}"."{mart}"'  # noqa: S608
                + where
            )
            con.execute(
                "create or replace temp table diff as select "  # noqa: S608
                "coalesce(m.customer_id, c.customer_id) as customer_id, "
                "m._present is null or c._present is null as row_missing, "
                + ", ".join(checks)
                + " from (select *, true as _present from mart) as m "
                "full outer join (select *, true as _present from core) as c "
                "on m.customer_id is not distinct from c.customer_id"
            )
            flags = [f'"{c}"' for c in columns[1:]]
            any_differs = " or ".join(["row_missing", *flags])
            counts = con.execute(
                "select count(*) filter (where row_missing), "  # noqa: S608
                f"count(*) filter (where {any_differs}), "
                + ", ".join(f"count(*) filter (where not row_missing and {flag})" for flag in flags)
                + ", (select count(*) from mart), (select count(*) from core) from diff"
            ).fetchall()[0]
            missing_rows, mismatched, *per_column_counts, mart_count, core_count = counts
            per_column = {
                column: int(count)
                for column, count in zip(columns[1:], per_column_counts, strict=True)
                if count
            }
            examples = [
                r[0]
                for r in con.execute(
                    f"select customer_id from diff where {any_differs} order by 1 limit 5"  # noqa: S608
                ).fetchall()
            ]
            result[core] = {
                "mart_rows": int(mart_count),
                "core_rows": int(core_count),
                "missing_rows": int(missing_rows),
                "mismatched_rows": int(mismatched),
                "mismatches_per_column": per_column,
                "examples": examples,
            }
    finally:
        con.close()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["floor", "pandas", "compare"])
    parser.add_argument("--lake", type=Path)
    parser.add_argument("--as-of", type=date.fromisoformat)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--build-db", type=Path)
    parser.add_argument("--base-currency", default="USD")
    args = parser.parse_args(argv)
    if args.what == "compare":
        print(json.dumps(compare(args.build_db, args.out), indent=2))
        return 0
    core_vars = CoreVars.from_dbt_project(base_currency=args.base_currency)
    run = run_floor if args.what == "floor" else run_pandas
    run(args.lake, args.as_of, args.out, core_vars)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
