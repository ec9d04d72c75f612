"""Deterministic, realistic demo CRM + ERP exports for the KAM warehouse.

The generator builds one *world* from ``(seed, customers, anchor)``: three years of
history before ``anchor`` for every canonical entity of ARCHITECTURE.md, with every
time-dependent state kept as the timestamps of its changes (order delivered or
cancelled, invoice paid, ticket resolved, opportunity closed, contact left, owner
changed, owner deactivated). An export *as of* ``D <= anchor`` is a snapshot of that
one world: rows dated after ``D`` are absent and every state reflects ``D``. Backfills
as of successive month-ends with the same anchor therefore see one consistent history,
and the same arguments always give byte-identical files (numpy ``Generator(seed)``;
the wall clock is never read).

Files written (canonical column names, plus ``accounts.owner_assigned_at``)::

    out_dir/crm/{accounts,owners,owner_directory,contacts,activities,opportunities,tickets,
                 surveys,account_plans}.csv
    out_dir/erp/{customers,products,orders,order_lines,invoices,payments,fx_rates}.csv
    out_dir/scenarios.json

Conventions (docs/CONTRACTS.md): IDs are strings; timestamps ISO-8601 UTC with ``Z``;
dates ``YYYY-MM-DD``; booleans ``true``/``false``; empty cell = null. Money is in the
row's ``currency``: ``order_lines.unit_price`` and ``order_lines.unit_cost`` are in the
order's currency, ``products.unit_cost`` in the product's currency (USD).
``order_lines.discount_pct`` and ``opportunities.probability`` are fractions in
``[0, 1]``. ``fx_rates`` holds one row per currency and day (USD included, rate 1);
``rate_to_base`` multiplies an amount in ``currency`` into USD. Open opportunities have
``is_won = false`` and an empty ``closed_at``; ``competitor`` is set on closed ones only (a
lost deal's winner, or the competitor a won deal beat). Invoice status is one of ``open``,
``partially_paid``, ``overdue`` (past due and not fully paid) and ``paid``; order status
one of ``confirmed``, ``delivered`` and ``cancelled``; ticket status one of ``open``,
``in_progress``, ``resolved`` and ``closed``.

Planted scenarios (:data:`SCENARIO_NAMES`) are placed relative to ``anchor``; they show
their signal in the export as of ``anchor`` (the default ``as_of``).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from kam_transforms.demo_competitors import ENTRANT_SCENARIO_TEXT, plant_competitor_entry
from kam_transforms.demo_economics import ECONOMICS_SCENARIO_TEXT, plant_customer_economics
from kam_transforms.demo_plans import PLAN_SCENARIO_TEXT, plan_accounts
from kam_transforms.demo_portfolio import PORTFOLIO_SCENARIO_TEXT, plant_lost_a_account
from kam_transforms.demo_world import (
    BASE_CURRENCY,
    CANONICAL_COLUMNS,
    CURRENCIES,
    HISTORY_DAYS,
    SCENARIO_NAMES,
    _World,
)

__all__ = [
    "BASE_CURRENCY",
    "CANONICAL_COLUMNS",
    "CURRENCIES",
    "HISTORY_DAYS",
    "SCENARIO_NAMES",
    "generate",
]

#: What the planted scenarios of the satellite modules show, by name.
SCENARIO_TEXT: dict[str, str] = {
    **ECONOMICS_SCENARIO_TEXT, **PLAN_SCENARIO_TEXT, **ENTRANT_SCENARIO_TEXT,
    **PORTFOLIO_SCENARIO_TEXT,
}


def _plant(world: _World) -> None:
    """Plant the economics, plan, competitor and portfolio scenarios into the base world, in
    this order (each draws from its own generator or none, so none moves another's rows)."""
    world.scenarios.update(plant_customer_economics(world))
    world.plans, planted = plan_accounts(world)
    world.scenarios.update(planted)
    world.scenarios.update(plant_competitor_entry(world))
    world.scenarios.update(plant_lost_a_account(world))


def _to_csv_frame(cols: dict[str, pa.Array]) -> pd.DataFrame:
    """Text rendering of the contract: ISO timestamps with ``Z``, ``true``/``false``."""
    out: dict[str, pa.Array] = {}
    for col, arr in cols.items():
        if pa.types.is_timestamp(arr.type):
            arr = pc.strftime(arr, format="%Y-%m-%dT%H:%M:%SZ")
        elif pa.types.is_date32(arr.type):
            arr = arr.cast(pa.string())
        elif pa.types.is_boolean(arr.type):
            arr = pc.if_else(arr, "true", "false")
        out[col] = arr
    return pa.table(out).to_pandas()


# --------------------------------------------------------------------------- public


def generate(
    out_dir: Path,
    customers: int,
    seed: int,
    as_of: date,
    anchor: date | None = None,
    fmt: str = "csv",
) -> dict[str, Any]:
    """Write a deterministic demo CRM + ERP export as of ``as_of``.

    Parameters
    ----------
    out_dir : Path
        Directory receiving ``crm/<entity>.<fmt>``, ``erp/<entity>.<fmt>`` and
        ``scenarios.json``; created if missing, existing files are replaced.
    customers : int
        Number of ERP customers (>= 50). About 7.5% more CRM accounts are prospects.
    seed : int
        Seed of the numpy random generator; with ``customers`` and ``anchor`` it fixes
        the world.
    as_of : date
        The export holds only what was known at the end of this day (UTC).
    anchor : date, optional
        The last day of the world (default ``as_of``); history starts three years
        earlier. Exports as of several dates with one anchor share one history.
    fmt : {"csv", "parquet"}
        CSV (UTF-8, ISO timestamps with ``Z``) or Parquet (native date, UTC timestamp
        and boolean types; for large sets).

    Returns
    -------
    dict
        The manifest, also written as ``scenarios.json``: ``as_of``, ``anchor``, ``seed``,
        ``customers``, ``base_currency``, ``format``, ``row_counts`` per
        ``<source>/<entity>`` and ``scenarios``: per scenario name the planted
        ``account_id``, ``customer_id`` (``None`` for the prospect), ``owner_id``,
        ``owner_email``, ``account_name`` and a ``description``.

    Raises
    ------
    ValueError
        If ``customers < 50``, ``as_of`` is after ``anchor``, or ``fmt`` is unknown.
    """
    anchor = as_of if anchor is None else anchor
    if customers < 50:
        raise ValueError(f"customers must be at least 50 to plant every scenario, got {customers}")
    if as_of > anchor:
        raise ValueError(f"as_of {as_of} is after anchor {anchor}")
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', got {fmt!r}")
    world = _World(customers, seed, anchor)
    _plant(world)
    tables = world.snapshot(as_of)
    out_dir = Path(out_dir)
    row_counts: dict[str, int] = {}
    for name, cols in tables.items():
        path = out_dir / f"{name}.{fmt}"
        path.parent.mkdir(parents=True, exist_ok=True)
        for stale in path.parent.glob(f"{path.stem}.*"):
            if stale.suffix in (".csv", ".parquet") and stale != path:
                stale.unlink()
        if fmt == "csv":
            frame = _to_csv_frame(cols)
            frame.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
        else:
            pq.write_table(pa.table(cols), path, compression="zstd")
        row_counts[name] = len(next(iter(cols.values())))
    manifest: dict[str, Any] = {
        "as_of": as_of.isoformat(),
        "anchor": anchor.isoformat(),
        "seed": seed,
        "customers": customers,
        "base_currency": BASE_CURRENCY,
        "format": fmt,
        "row_counts": row_counts,
        "scenarios": world.scenario_manifest(as_of, SCENARIO_TEXT),
    }
    (out_dir / "scenarios.json").write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return manifest
