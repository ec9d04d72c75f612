"""Scale benchmark of the whole pipeline, stage by stage, with floors side by side (issue 16).

Usage (from the repository root; not part of the test suite)::

    .venv/bin/python benchmarks/bench_scale.py                      # 10k and 100k customers
    .venv/bin/python benchmarks/bench_scale.py --scales 10k --pipeline-repeat 3
    .venv/bin/python benchmarks/bench_scale.py --report-only        # tables and chart from the CSV

For each scale it generates the demo (``kam demo-data``, as of ``--as-of`` in a world that
ends a day later), then runs every stage as its own whole process through the public
commands, measuring wall time, CPU and peak memory of the process tree
(:mod:`procstats`): ``kam extract`` (all entities), ``kam build``, ``kam validate``,
``kam publish``, ``kam alerts send``, ``--pipeline-repeat`` times on a fresh ``KAM_HOME``.
Then, side by side on the same landed data, ``--repeat`` rounds of (in turn):

- ``floor``: ``benchmarks/floor.sql`` (hand-written DuckDB) computing the customer_facts
  core and customer_tiers ABC core (:mod:`scale_core`);
- ``pandas``: the same in plain pandas;
- ``dbt run --select +customer_tiers`` on a copy of the build warehouse (what dbt spends
  on those marts and everything they need);
- ``io_floor``: a plain DuckDB copy of the export files to Parquet (landing's I/O floor),
  and ``kam extract`` of the same files into a fresh ``KAM_HOME`` right after it
  (``extract_round``, left out with ``--no-landing-rounds``).

Floor and pandas results are compared with the marts of ``kam build`` row by row (numbers
to 1e-9). Last, the next day: the demo as of the day after, and ``kam run`` for it on the
same ``KAM_HOME`` (the pipeline is not incremental yet, so this is measured, not assumed).

Results: one row per measured process appended to ``benchmarks/results/scale.csv``; the
"Scale" section of ``benchmarks/RESULTS.md`` and ``benchmarks/results/scale.svg`` are
rewritten from the CSV (the latest run of each scale) by :mod:`scale_report`.

1M customers (``--scales 1m``): the block generator (about 2 GiB) and the streaming landing
(under 2 GiB) have been run at 1M (``benchmarks/RESULTS.md``, "1M customers"); the dbt build,
validation and publish at 1M have not, so a 1M run may still need the machine's whole memory
and several hours.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import sys
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from procstats import Measured, measure  # noqa: E402
from scale_core import compare  # noqa: E402
from scale_report import CSV_FIELDS, write_reports  # noqa: E402

PYTHON = Path(sys.executable)
BIN = PYTHON.parent
DEFAULT_CSV = HERE / "results" / "scale.csv"
#: The pipeline's stages in order, each a ``kam`` command (``{as_of}`` filled in).
STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("extract", ("extract", "--as-of", "{as_of}")),
    ("build", ("build", "--as-of", "{as_of}")),
    ("validate", ("validate", "--as-of", "{as_of}")),
    ("publish", ("publish", "--as-of", "{as_of}")),
    ("alerts", ("alerts", "send", "--as-of", "{as_of}")),
)
#: dbt models on the path of the core (their node time is reported beside the process's).
CORE_PATH_MODELS = frozenset(
    {
        "stg_erp__customers", "stg_erp__products", "stg_erp__orders", "stg_erp__order_lines",
        "stg_erp__fx_rates", "stg_crm__accounts", "stg_crm__owners", "int_fx_rates_ranged",
        "int_order_lines_converted", "int_customer_revenue_windowed", "dim_customers",
        "fct_order_lines", "customer_facts", "customer_tiers",
    }
)


def parse_scale(text: str) -> int:
    text = text.strip().lower().replace("_", "")
    factor = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    number = int(text[:-1]) if factor > 1 else int(text)
    if number * factor < 50:
        raise argparse.ArgumentTypeError(f"scale {text!r}: at least 50 customers")
    return number * factor


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


class Recorder:
    """Measures processes and appends each as a CSV row (written at once: a crash keeps
    what was measured)."""

    def __init__(self, csv_path: Path, run_id: str, customers: int) -> None:
        self.csv_path = csv_path
        self.run_id = run_id
        self.customers = customers
        csv_path.parent.mkdir(parents=True, exist_ok=True)
        if not csv_path.exists():
            with csv_path.open("w", newline="", encoding="utf-8") as f:
                csv.DictWriter(f, CSV_FIELDS).writeheader()

    def run(
        self, stage: str, repeat: int, argv: Sequence[str], env: dict[str, str], **extra: Any
    ) -> Measured:
        load = load_average()
        started = datetime.now(UTC)
        print(f"[{started:%H:%M:%S}] {self.customers:>8} {stage:<14} #{repeat} "
              f"(load {load:.1f}) ...", file=sys.stderr, flush=True)
        result = measure(argv, env=env, cwd=REPO, check=False)
        print(f"           {result.wall_s:8.1f} s  {result.peak_tree_rss / 2**20:8.0f} MiB"
              f"  exit {result.returncode}", file=sys.stderr, flush=True)
        self.write(stage, repeat, result.wall_s, result.cpu_s, result.peak_tree_rss,
                   result.peak_process_rss, result.returncode, load, started, **extra)
        if result.returncode != 0:
            raise RuntimeError(
                f"{stage} failed (exit {result.returncode}): {' '.join(argv)}\n"
                f"{result.stderr_tail}"
            )
        return result

    def write(
        self, stage: str, repeat: int, wall_s: float, cpu_s: float | None,
        peak_tree_rss: int | None, peak_process_rss: int | None, returncode: int,
        load: float, started: datetime, **extra: Any,
    ) -> None:
        row = {
            "run_id": self.run_id,
            "started_utc": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "customers": self.customers,
            "stage": stage,
            "repeat": repeat,
            "wall_s": f"{wall_s:.3f}",
            "cpu_s": "" if cpu_s is None else f"{cpu_s:.3f}",
            "peak_tree_rss_mib": "" if peak_tree_rss is None else f"{peak_tree_rss / 2**20:.1f}",
            "peak_process_rss_mib": (
                "" if peak_process_rss is None else f"{peak_process_rss / 2**20:.1f}"
            ),
            "returncode": returncode,
            "load_avg_1m": f"{load:.2f}",
        } | {k: ("" if v is None else v) for k, v in extra.items()}
        with self.csv_path.open("a", newline="", encoding="utf-8") as f:
            csv.DictWriter(f, CSV_FIELDS).writerow(row)


#: The variables that place a pipeline's files: the benchmark sets its own.
PATH_VARIABLES = (
    "KAM_HOME", "KAM_EXPORTS_DIR", "KAM_LAKE_DIR", "KAM_BUILD_DB", "KAM_SERVING_DB",
    "KAM_AUDIT_DB", "KAM_GX_ROOT", "KAM_OUTBOX_DIR", "KAM_REPORTS_DIR",
)


def kam_env(home: Path, exports: Path) -> dict[str, str]:
    """This environment with the pipeline's files under ``home`` (other settings, such as
    the DuckDB memory limit, are kept)."""
    env = {k: v for k, v in os.environ.items() if k not in PATH_VARIABLES}
    return env | {
        "KAM_HOME": str(home),
        "KAM_EXPORTS_DIR": str(exports),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def kam(*args: str) -> list[str]:
    return [str(BIN / "kam"), *args]


def count_order_lines(lake: Path) -> int:
    import duckdb

    con = duckdb.connect()
    try:
        (count,) = con.execute(
            "select count(*) from read_parquet(?)",
            [str(lake / "raw" / "erp" / "order_lines" / "as_of=*" / "*.parquet")],
        ).fetchall()[0]
    finally:
        con.close()
    return int(count)


def dbt_core_run(rec: Recorder, home: Path, work: Path, as_of: date, repeat: int) -> None:
    """``dbt run --select +customer_tiers`` on a copy of the build warehouse, with the
    environment and vars ``kam build`` gives dbt; also records dbt's own node time of the
    models on the core's path (``dbt_core_nodes``)."""
    sys.path.insert(0, str(REPO))
    from kam_transforms.config import DBT_PROJECT_DIR, Settings

    db = work / "dbt_core.duckdb"
    shutil.copyfile(home / "warehouse" / "build.duckdb", db)
    target = work / "dbt_target"
    settings = replace(Settings.from_env(), lake_dir=home / "lake", build_db=db)
    env = kam_env(home, home / "exports") | settings.dbt_env()
    argv = [
        str(BIN / "dbt"), "run", "--select", "+customer_tiers",
        "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(target), "--log-path", str(work / "dbt_logs"),
        "--vars", json.dumps(
            {"as_of_date": as_of.isoformat(), "base_currency": settings.base_currency}
        ),
    ]
    load, started = load_average(), datetime.now(UTC)
    result = rec.run("dbt_core", repeat, argv, env)
    results = json.loads((target / "run_results.json").read_text(encoding="utf-8"))["results"]
    core_nodes = [r for r in results if r["unique_id"].rsplit(".", 1)[-1] in CORE_PATH_MODELS]
    rec.write(
        "dbt_core_nodes", repeat, sum(r["execution_time"] for r in core_nodes), None, None,
        None, result.returncode, load, started,
        note=f"dbt node time of the {len(core_nodes)} core-path models of {len(results)}; "
        f"all {len(results)}: {sum(r['execution_time'] for r in results):.1f} s",
    )


def machine() -> dict[str, Any]:
    import subprocess
    from importlib.metadata import version

    meminfo = Path("/proc/meminfo").read_text().split("\n", 1)[0].split()
    git = ["git", "-C", str(REPO)]
    commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    dirty = subprocess.run([*git, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return {
        "commit": commit + (" (with uncommitted changes)" if dirty else ""),
        "cpus": os.cpu_count(),
        "memory": f"{int(meminfo[1]) / 2**20:.0f} GiB",
        "kernel": f"{platform.system()} {platform.release()} {platform.machine()}",
        "python": platform.python_version(),
    } | {p: version(p) for p in ("duckdb", "dbt-core", "dbt-duckdb", "pandas", "pyarrow")}


def run_scale(args: argparse.Namespace, customers: int, run_id: str) -> None:
    as_of: date = args.as_of
    next_day = as_of + timedelta(days=1)
    base = args.workdir / str(customers)
    home, work = base / "home", base / "work"
    exports = {day: base / "exports" / day.isoformat() for day in (as_of, next_day)}
    rec = Recorder(args.csv, run_id, customers)
    if base.exists():
        shutil.rmtree(base)
    work.mkdir(parents=True)
    env = kam_env(home, exports[as_of])
    py = str(PYTHON)
    rec.write("machine", 0, 0.0, None, None, None, 0, load_average(), datetime.now(UTC),
              note=json.dumps(machine()))

    demo = ("demo-data", "--customers", str(customers), "--seed", str(args.seed),
            "--anchor", next_day.isoformat())
    rec.run("demo_data", 1, kam(*demo, "--out", str(exports[as_of]), "--as-of",
                                as_of.isoformat()), env)
    for repeat in range(1, args.pipeline_repeat + 1):
        if home.exists():
            shutil.rmtree(home)
        for stage, command in STAGES:
            rec.run(stage, repeat, kam(*(c.format(as_of=as_of) for c in command)), env)
    order_lines = count_order_lines(home / "lake")
    rec.write("order_lines", 0, 0.0, None, None, None, 0, load_average(), datetime.now(UTC),
              note=str(order_lines))

    script = str(HERE / "scale_core.py")
    for repeat in range(1, args.repeat + 1):
        for impl in ("floor", "pandas"):
            out = work / f"core_{impl}"
            shutil.rmtree(out, ignore_errors=True)
            rec.run(impl, repeat, [py, script, impl, "--lake", str(home / "lake"),
                                   "--as-of", as_of.isoformat(), "--out", str(out)], env)
        dbt_core_run(rec, home, work, as_of, repeat)
        shutil.rmtree(work / "io_floor", ignore_errors=True)
        rec.run("io_floor", repeat, [py, str(HERE / "io_floor.py"), str(exports[as_of]),
                                     str(work / "io_floor")], env)
        if not args.no_landing_rounds:
            landing_home = work / "landing_home"
            shutil.rmtree(landing_home, ignore_errors=True)
            rec.run("extract_round", repeat, kam("extract", "--as-of", as_of.isoformat()),
                    kam_env(landing_home, exports[as_of]))
            shutil.rmtree(landing_home, ignore_errors=True)
    for impl in ("floor", "pandas"):
        diff = compare(home / "warehouse" / "build.duckdb", work / f"core_{impl}")
        rec.write(
            f"{impl}_mismatches", 0, 0.0, None, None, None, 0, load_average(),
            datetime.now(UTC),
            mismatches=sum(t["mismatched_rows"] for t in diff.values()),
            note=json.dumps(diff, separators=(",", ":")),
        )
        print(f"{impl}: {json.dumps(diff)}", file=sys.stderr)

    if not args.skip_next_day:
        rec.run("demo_data_next_day", 1, kam(*demo, "--out", str(exports[next_day]),
                                             "--as-of", next_day.isoformat()), env)
        rec.run("next_day_run", 1, kam("run", "--as-of", next_day.isoformat()),
                kam_env(home, exports[next_day]))
    if args.whole_run:
        whole = base / "whole_run_home"
        rec.run("whole_run", 1, kam("run", "--as-of", as_of.isoformat()),
                kam_env(whole, exports[as_of]))
        shutil.rmtree(whole, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", default="10k,100k",
                        help="comma-separated customer counts, e.g. 10k,100k (1m: see above)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="rounds of the side-by-side comparisons (median reported)")
    parser.add_argument("--pipeline-repeat", type=int, default=1,
                        help="runs of the pipeline's stages, each on a fresh KAM_HOME")
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 10, 31))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workdir", type=Path, default=REPO / "var" / "bench_scale",
                        help="where each scale's exports, KAM_HOME and outputs go (replaced)")
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--results-md", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--chart", type=Path, default=HERE / "results" / "scale.svg")
    parser.add_argument("--skip-next-day", action="store_true")
    parser.add_argument("--no-landing-rounds", action="store_true",
                        help="leave `kam extract` (fresh KAM_HOME) out of the side-by-side "
                        "rounds; the landing ratio then uses the pipeline's extract stage")
    parser.add_argument("--whole-run", action="store_true",
                        help="also time one `kam run` of the first day on a fresh KAM_HOME")
    parser.add_argument("--report-only", action="store_true",
                        help="only rewrite RESULTS.md's Scale section and the chart from the CSV")
    args = parser.parse_args(argv)
    if not args.report_only:
        scales = [parse_scale(s) for s in args.scales.split(",") if s.strip()]
        run_id = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"
        print(f"run {run_id} on {platform.node()}: scales {scales}", file=sys.stderr)
        for customers in scales:
            if customers >= 1_000_000:
                print("warning: the dbt build, validation and publish have not been run at 1M "
                      "customers yet (see the module docstring)", file=sys.stderr)
            run_scale(args, customers, run_id)
    write_reports(args.csv, args.results_md, args.chart)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
