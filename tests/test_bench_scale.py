"""The scale benchmark's pieces (benchmarks/bench_scale.py itself is not part of the suite):
the SQL floor and the pandas version equal the dbt marts on the shared 400-customer build,
the comparison finds each planted difference, the process-tree memory measurement sees a
grandchild's memory, and the report takes medians and ratios from the CSV rows."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

from dbt_build import AS_OF, Build  # noqa: E402
from procstats import measure  # noqa: E402
from scale_core import (  # noqa: E402
    CORE_TABLES,
    FACTS_COLUMNS,
    TIERS_COLUMNS,
    compare,
    run_floor,
    run_pandas,
)
from scale_report import markdown, summarise, svg_chart  # noqa: E402

MIB = 2**20


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("run", [run_floor, run_pandas], ids=["floor", "pandas"])
def test_core_equals_the_dbt_marts(build: Build, tmp_path: Path, run) -> None:
    run(build.lake_dir, AS_OF, tmp_path)
    diff = compare(build.db_path, tmp_path)
    facts, tiers = diff["customer_facts_core"], diff["customer_tiers_core"]
    (ordering,) = build.query(
        "select count(*) from main.customer_facts where order_count_total > 0"
    ).iloc[0]
    assert ordering > 300  # the data set has real order histories to compare
    assert facts["mart_rows"] == facts["core_rows"] == 400
    assert tiers["mart_rows"] == tiers["core_rows"]
    assert (facts["mismatched_rows"], tiers["mismatched_rows"]) == (0, 0), diff


def _column_sql(column: str) -> str:
    """A value of the column's type for row ``i`` (customer ``C<i>``)."""
    if column == "customer_id":
        return "'C' || lpad(cast(i as varchar), 3, '0')"
    if column.endswith("_date"):
        return "date '2026-01-01' + cast(i as integer)"
    if column.endswith("_class"):
        return "case when i < 3 then 'A' when i < 8 then 'B' else 'C' end"
    if column == "rfm_code":
        return "cast(100 + i as varchar)"
    if column.startswith("is_"):
        return "i % 2 = 0"
    if column.endswith(("_days", "_count_total", "_t12m", "_score", "_rank")) and not (
        column.startswith(("revenue", "gross", "average", "category"))
    ):
        return "cast(i as integer)"
    return "i * 1234.567891 + 0.5"


def _fake_build(path: Path) -> None:
    """A build warehouse whose two marts hold 20 customers (and facts a prospect)."""
    with duckdb.connect(str(path)) as con:
        for mart, columns in (("customer_facts", FACTS_COLUMNS), ("customer_tiers", TIERS_COLUMNS)):
            select = ", ".join(f"{_column_sql(c)} as {c}" for c in columns)
            con.execute(
                f"create table {mart} as select {select}, 'extra' as not_in_core "
                "from range(20) as t(i)"
            )
        con.execute(
            "insert into customer_facts (customer_id, revenue_t12m) values (null, 1.0)"
        )


def test_compare_finds_each_planted_difference(tmp_path: Path) -> None:
    build_db = tmp_path / "build.duckdb"
    _fake_build(build_db)
    out = tmp_path / "core"
    out.mkdir()
    with duckdb.connect(str(build_db), read_only=True) as con:
        for core, (mart, columns) in CORE_TABLES.items():
            target = str(out / f"{core}.parquet")
            where = " where customer_id is not null" if mart == "customer_facts" else ""
            con.execute(f"select {', '.join(columns)} from {mart}{where}").df().to_parquet(target)
    assert {t: d["mismatched_rows"] for t, d in compare(build_db, out).items()} == {
        "customer_facts_core": 0, "customer_tiers_core": 0,
    }

    # planted: a class flipped (C005), a revenue off by 1e-8 relative (C007) and one by
    # 1e-10 relative (C008, within the tolerance), a row dropped (C009), a null (C010)
    facts = pd.read_parquet(out / "customer_facts_core.parquet")
    tiers = pd.read_parquet(out / "customer_tiers_core.parquet")
    tiers.loc[tiers["customer_id"] == "C005", "abc_class"] = "A"
    facts.loc[facts["customer_id"] == "C007", "revenue_t12m"] *= 1 + 1e-8
    facts.loc[facts["customer_id"] == "C008", "revenue_t12m"] *= 1 + 1e-10
    facts.loc[facts["customer_id"] == "C010", "first_order_date"] = None
    facts = facts[facts["customer_id"] != "C009"]
    facts.to_parquet(out / "customer_facts_core.parquet")
    tiers.to_parquet(out / "customer_tiers_core.parquet")

    diff = compare(build_db, out)

    assert diff["customer_tiers_core"] == {
        "mart_rows": 20, "core_rows": 20, "missing_rows": 0, "mismatched_rows": 1,
        "mismatches_per_column": {"abc_class": 1}, "examples": ["C005"],
    }
    assert diff["customer_facts_core"] == {
        "mart_rows": 20, "core_rows": 19, "missing_rows": 1, "mismatched_rows": 3,
        "mismatches_per_column": {"first_order_date": 1, "revenue_t12m": 1},
        "examples": ["C007", "C009", "C010"],
    }


def test_measure_sees_a_grandchild_s_memory() -> None:
    # the child starts a grandchild that holds 300 MiB (touched, so resident) for a second
    grandchild = "b = bytearray(300 * 2**20); import time; time.sleep(1.5)"
    child = (
        "import subprocess, sys; "
        f"subprocess.run([sys.executable, '-c', {grandchild!r}], check=True)"
    )
    result = measure([sys.executable, "-c", child], interval=0.1)
    assert result.returncode == 0
    assert result.peak_process_rss >= 300 * MIB
    assert result.peak_tree_rss >= 300 * MIB + result.peak_process_rss // 100
    assert result.peak_tree_rss < 600 * MIB


def test_measure_is_not_inflated_by_a_large_measuring_process() -> None:
    # Linux copies the parent's high-water mark into the child's ru_maxrss at exec: late in
    # a suite pytest holds hundreds of MiB, and a small command measured from it must not
    # report pytest's size (CI saw 625 MiB for a 300 MiB grandchild)
    ballast = bytearray(700 * MIB)
    for i in range(0, len(ballast), 4096):
        ballast[i] = 1
    command = "b = bytearray(100 * 2**20); import time; time.sleep(0.6)"
    result = measure([sys.executable, "-c", command], interval=0.1)
    del ballast
    assert 100 * MIB <= result.peak_process_rss < 300 * MIB
    assert result.peak_tree_rss < 300 * MIB


def test_measure_keeps_a_failing_command_s_exit_code() -> None:
    result = measure([sys.executable, "-c", "import sys; sys.exit(3)"], check=False)
    assert result.returncode == 3


def _row(stage: str, wall: float, repeat: int = 1, peak: str = "", **extra: str) -> dict:
    return {
        "run_id": "r2", "started_utc": "2026-12-02T14:00:00Z", "customers": "10000",
        "stage": stage, "repeat": str(repeat), "wall_s": str(wall), "cpu_s": "",
        "peak_tree_rss_mib": peak, "peak_process_rss_mib": "", "returncode": "0",
        "load_avg_1m": "5.0", "mismatches": "", "note": "",
    } | extra


def test_report_medians_and_ratios() -> None:
    rows = [
        _row("extract", 100, peak="3000"), _row("build", 50), _row("validate", 10),
        _row("publish", 5), _row("alerts", 5, peak="400"),
        _row("floor", 1.0, 1), _row("floor", 2.0, 2), _row("floor", 9.0, 3),
        _row("dbt_core", 3.0, 1), _row("dbt_core", 4.0, 2), _row("dbt_core", 50.0, 3),
        _row("io_floor", 20.0), _row("extract_round", 60.0), _row("next_day_run", 153.0),
        _row("floor_mismatches", 0, mismatches="0"),
        # an older run of the same scale is ignored
        _row("extract", 999, run_id="r1"),
    ]
    (summary,) = summarise(rows).values()
    stages = summary["stages"]
    assert stages["floor"]["median_s"] == 2.0
    assert stages["dbt_core"]["median_s"] == 4.0
    assert stages["extract"]["median_s"] == 100
    assert stages["full_run"]["median_s"] == 170
    assert stages["full_run"]["peak_mib"] == 3000
    assert summary["mismatches"] == {"floor": 0}
    text = markdown({10000: summary})
    assert "| `dbt run +customer_tiers` / floor | at most 1.5x at 100k | 2.0x (missed) |" in text
    assert "| landing (`kam extract`) / DuckDB copy of the same files | at most 3x | 3.0x " \
        "(met) |" in text
    assert "| the same, landing from the pipeline's extract stage (not side by side) | " \
        "at most 3x | 5.0x (missed) |" in text
    assert "| the next day's run / the full run | under 15% at 1M | 90% (missed) |" in text
    assert "| extract peak memory (process tree) | under 2 GiB | 3000 MiB (missed) |" in text
    assert "<polyline" in svg_chart({10000: summary})
