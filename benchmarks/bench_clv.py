"""Benchmark the CLV model: fit and score 1M simulated customers; compare with pymc-marketing.

Usage::

    .venv/bin/python benchmarks/bench_clv.py                 # 1M customers, median of 3
    .venv/bin/python benchmarks/bench_clv.py --customers 200000 --repeats 1 --skip-pymc

Measures, on the same machine and in one run:

1. ``score_customers`` end to end on an orders table of 1M simulated customers (orders to
   features, BG/NBD fit, Gamma-Gamma fit, P(alive), 12-month discounted CLV): median wall
   time of ``--repeats`` runs, with a per-stage breakdown;
2. peak memory: the peak of traced (numpy + Python) allocations during one scoring run
   (``tracemalloc``), and the process's peak RSS (``ru_maxrss``, includes the input data);
3. the BG/NBD fit alone on the CDNOW 2,357 customers, against pymc-marketing's
   ``BetaGeoModel`` MAP fit on the same data (skipped, and said so, if pymc-marketing is not
   installed or fails), and the ratio of the two.

Prints a Markdown report (also written to ``--output`` if given).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kam_transforms.clv import (  # noqa: E402
    BetaGeoParams,
    GammaGammaParams,
    fit_bgnbd,
    fit_gamma_gamma,
    probability_alive,
    score_customers,
)
from kam_transforms.clv.features import (  # noqa: E402
    collapse_to_purchase_periods,
    summarise_purchase_periods,
    to_day_number,
)
from kam_transforms.clv.predict import discounted_clv  # noqa: E402
from kam_transforms.clv.simulate import simulate_orders  # noqa: E402

CDNOW_SUMMARY = REPO / "tests" / "data" / "cdnow" / "cdnow_customers_summary_with_transactions.csv"
AS_OF = "2026-06-30"
# CDNOW-like parameters (weeks), so the simulated base looks like a real one.
TRUE_BG = BetaGeoParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
TRUE_GG = GammaGammaParams(p=6.25, q=3.74, v=15.44)


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def _median_time(fn: Callable[[], Any], repeats: int) -> tuple[float, list[float], Any]:
    times = []
    result = None
    for _ in range(repeats):
        elapsed, result = _timed(fn)
        times.append(elapsed)
    return statistics.median(times), times, result


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _stages(orders: pd.DataFrame) -> dict[str, float]:
    """Time each stage of a scoring run once (same work as score_customers, minus holdout)."""
    stages: dict[str, float] = {}
    as_of_day = to_day_number(AS_OF)
    t, periods = _timed(lambda: collapse_to_purchase_periods(orders))
    stages["orders -> purchase periods"] = t
    t, summary = _timed(lambda: summarise_purchase_periods(periods, as_of_day))
    stages["features (x, t_x, T, margins)"] = t
    t, bg = _timed(lambda: fit_bgnbd(summary["frequency"], summary["recency"], summary["T"]))
    stages["BG/NBD fit"] = t
    t, gg = _timed(
        lambda: fit_gamma_gamma(summary["frequency"], summary["avg_margin_per_purchase"])
    )
    stages["Gamma-Gamma fit"] = t

    def predict() -> None:
        probability_alive(bg.params, summary["frequency"], summary["recency"], summary["T"])
        discounted_clv(
            bg.params,
            summary["frequency"],
            summary["recency"],
            summary["T"],
            np.full(len(summary), 10.0),
            horizon_months=12,
            annual_discount_rate=0.10,
            time_unit="weeks",
        )

    t, _ = _timed(predict)
    stages["P(alive) + 12-month discounted CLV"] = t
    stages["_bg_unique_rows"] = float(bg.n_unique_rows)
    stages["_bg_iterations"] = float(bg.n_iterations)
    return stages


def _pymc_marketing_map(summary: pd.DataFrame) -> dict[str, Any]:
    """Fit pymc-marketing's BetaGeoModel by MAP on the CDNOW summary; time it twice."""
    # A fresh compile directory, so the first fit pays PyTensor's compilation as it would on a
    # new worker; the second fit shows the warm cost.
    os.environ["PYTENSOR_FLAGS"] = f"base_compiledir={tempfile.mkdtemp(prefix='pytensor-')}"
    try:
        from pymc_marketing.clv import BetaGeoModel
    except Exception as exc:  # not installed, or fails to import
        return {"skipped": f"pymc-marketing not available: {type(exc).__name__}: {exc}"}
    data = pd.DataFrame(
        {
            "customer_id": summary["ID"],
            "frequency": summary["x"],
            "recency": summary["t_x"],
            "T": summary["T"],
        }
    )
    result: dict[str, Any] = {"times": []}
    try:
        for _ in range(2):
            model: Any = BetaGeoModel(data=data)
            start = time.perf_counter()
            model.fit(method="map")
            result["times"].append(time.perf_counter() - start)
        posterior = model.idata.posterior
        result["params"] = {
            name: float(posterior[name].values.ravel()[0]) for name in ("r", "alpha", "a", "b")
        }
    except Exception as exc:
        result["skipped"] = f"pymc-marketing failed: {type(exc).__name__}: {exc}"
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-age-days", type=int, default=730)
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument(
        "--bgnbd",
        type=float,
        nargs=4,
        metavar=("R", "ALPHA", "A", "B"),
        default=[TRUE_BG.r, TRUE_BG.alpha, TRUE_BG.a, TRUE_BG.b],
        help="true BG/NBD parameters per week (default: CDNOW's); e.g. 20 40 0.8 5 for a "
        "base of regular buyers, which exercises the large-r numerics",
    )
    parser.add_argument("--skip-pymc", action="store_true")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args(argv)
    true_bg = BetaGeoParams(*args.bgnbd)

    lines: list[str] = []

    def say(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    say(f"# CLV benchmark, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC")
    say()
    say(
        f"- machine: {os.cpu_count()} cores, {platform.machine()}, {platform.platform()}; "
        f"Python {platform.python_version()}"
    )
    versions = ", ".join(
        f"{pkg} {_version(pkg)}"
        for pkg in ("numpy", "scipy", "pandas", "pymc-marketing", "pymc", "pytensor")
    )
    say(f"- versions: {versions}")
    say()

    sim_time, orders = _timed(
        lambda: simulate_orders(
            args.customers,
            true_bg,
            TRUE_GG,
            as_of=AS_OF,
            max_age_days=args.max_age_days,
            seed=args.seed,
        )
    )
    say(
        f"## {args.customers:,} simulated customers, {len(orders):,} orders "
        f"(first purchases over {args.max_age_days} days; simulated in {sim_time:.1f} s)"
    )
    say()
    median, times, (clv, run) = _median_time(lambda: score_customers(orders, AS_OF), args.repeats)
    say(
        f"- `score_customers` end to end (orders in, one row per customer out): "
        f"**median {median:.2f} s** of {args.repeats}, fastest {min(times):.2f} s "
        f"({', '.join(f'{t:.2f}' for t in times)})"
    )
    bg, gg = run["bgnbd"], run["gamma_gamma"]
    say(
        f"- BG/NBD fit: r={bg['r']:.4f} alpha={bg['alpha']:.4f} a={bg['a']:.4f} b={bg['b']:.4f} "
        f"(true {true_bg.r}, {true_bg.alpha}, {true_bg.a}, {true_bg.b}); "
        f"LL={bg['log_likelihood']:.1f}; "
        f"converged={bg['converged']} in {bg['n_iterations']} iterations; "
        f"{bg['n_unique_rows']:,} distinct (x, t_x, T) rows for {bg['n_customers']:,} customers"
    )
    say(
        f"- Gamma-Gamma fit: p={gg['p']:.3f} q={gg['q']:.3f} v={gg['v']:.3f} "
        f"(true {TRUE_GG.p}, {TRUE_GG.q}, {TRUE_GG.v}); converged={gg['converged']}; "
        f"{gg['n_customers']:,} repeat customers"
    )
    assert len(clv) == args.customers

    stages = _stages(orders)
    say("- one run, by stage:")
    for name, seconds in stages.items():
        if not name.startswith("_"):
            say(f"  - {name}: {seconds:.2f} s")

    tracemalloc.start()
    score_customers(orders, AS_OF)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    maxrss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    say(
        f"- peak memory: {traced_peak / 2**20:,.0f} MiB traced during one scoring run "
        f"(tracemalloc; the input orders frame is not counted); process peak RSS "
        f"{maxrss_mib:,.0f} MiB (includes simulation and input)"
    )
    say()

    summary = pd.read_csv(CDNOW_SUMMARY)
    ours, our_times, fit = _median_time(
        lambda: fit_bgnbd(summary["x"], summary["t_x"], summary["T"]), max(args.repeats, 21)
    )
    say("## CDNOW, 2,357 customers: BG/NBD fit")
    say()
    say(
        f"- kam_transforms.clv (maximum likelihood, L-BFGS-B, analytic gradient): "
        f"**median {ours * 1000:.1f} ms** of {len(our_times)} "
        f"(fastest {min(our_times) * 1000:.1f} ms); "
        f"r={fit.params.r:.4f} alpha={fit.params.alpha:.4f} "
        f"a={fit.params.a:.4f} b={fit.params.b:.4f} LL={fit.log_likelihood:.2f}"
    )
    if args.skip_pymc:
        say("- pymc-marketing: skipped (--skip-pymc)")
    else:
        pymc = _pymc_marketing_map(summary)
        if "skipped" in pymc:
            say(f"- pymc-marketing: {pymc['skipped']}")
        else:
            first, second = pymc["times"]
            p = pymc["params"]
            say(
                f"- pymc-marketing BetaGeoModel.fit(method='map'): first fit {first:.1f} s "
                f"(includes graph compilation), second fit {second:.1f} s; r={p['r']:.4f} "
                f"alpha={p['alpha']:.4f} a={p['a']:.4f} b={p['b']:.4f} "
                "(MAP with its default priors)"
            )
            say(
                f"- ratio on CDNOW: pymc-marketing / ours = {first / ours:,.0f}x (first fit), "
                f"{second / ours:,.0f}x (second fit)"
            )
            say(
                f"- ours on {args.customers:,} customers end to end ({median:.1f} s) vs "
                f"pymc-marketing on 2,357 ({first:.1f} s): {first / median:.1f}x"
            )
    if args.output:
        args.output.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
