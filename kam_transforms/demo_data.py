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

Blocks: a world of more than :func:`block_customers` customers (``$KAM_DEMO_BLOCK_CUSTOMERS``,
default 100,000) is a federation of :func:`region_sizes` regions, each a world of its own
(:func:`region_seed`) with region 0's fx rates and products (written once). Every ID follows
on from the previous regions' worlds (their row counts, not the export's, so IDs do not
depend on ``as_of``) and every reference stays inside its region; owners' e-mails carry
``.r<region>``. The scenarios are planted in region 0 only, the account plans in every
region. Each region is written as soon as it is built (:mod:`kam_transforms.demo_write`), so
memory stays about one region; up to one block the export is the world of ``seed`` itself.
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

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
    SharedTables,
    _World,
)
from kam_transforms.demo_write import ExportSink

__all__ = [
    "BASE_CURRENCY",
    "BLOCK_ENV",
    "CANONICAL_COLUMNS",
    "CURRENCIES",
    "HISTORY_DAYS",
    "SCENARIO_NAMES",
    "block_customers",
    "generate",
    "region_seed",
    "region_sizes",
]

#: Environment variable: the most customers one region of the world holds.
BLOCK_ENV = "KAM_DEMO_BLOCK_CUSTOMERS"
DEFAULT_BLOCK_CUSTOMERS = 100_000
MIN_BLOCK_CUSTOMERS = 100
#: Entities every region shares: written once, from region 0.
SHARED_ENTITIES = ("erp/fx_rates", "erp/products")

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


def block_customers() -> int:
    """The most customers of one region of the world: ``$KAM_DEMO_BLOCK_CUSTOMERS``, default
    :data:`DEFAULT_BLOCK_CUSTOMERS`, at least :data:`MIN_BLOCK_CUSTOMERS`."""
    raw = os.environ.get(BLOCK_ENV, "").strip()
    if not raw:
        return DEFAULT_BLOCK_CUSTOMERS
    try:
        block = int(raw)
    except ValueError:
        raise ValueError(f"{BLOCK_ENV} must be a whole number of customers, got {raw!r}") from None
    if block < MIN_BLOCK_CUSTOMERS:
        raise ValueError(
            f"{BLOCK_ENV} must be at least {MIN_BLOCK_CUSTOMERS} (every region plants the "
            f"world's scenarios on at least 50 customers), got {block}"
        )
    return block


def region_sizes(customers: int, block: int) -> list[int]:
    """The customers of each region: as few regions of at most ``block`` as can hold them,
    as equal as can be (so none falls below half a block)."""
    k = -(-customers // block)
    return [customers // k + (r < customers % k) for r in range(k)]


def region_seed(seed: int, region: int) -> int:
    """Region 0 is the world of ``seed`` itself; region ``r`` a seed drawn from ``(seed, r)``."""
    if region == 0:
        return seed
    return int(np.random.SeedSequence([seed, region]).generate_state(1, np.uint64)[0])


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
    sizes = region_sizes(customers, block_customers())
    offsets: dict[str, int] = {}
    shared: SharedTables | None = None
    scenarios: dict[str, Any] = {}
    with ExportSink(Path(out_dir), fmt) as sink:
        for region, size in enumerate(sizes):
            world = _World(size, region_seed(seed, region), anchor, region=region, shared=shared)
            if region == 0:
                _plant(world)
                scenarios = world.scenario_manifest(as_of, SCENARIO_TEXT)
                shared = world.shared_tables()
            else:  # the scenarios are region 0's; the account plans are every region's
                world.plans, _ = plan_accounts(world)
            tables = world.snapshot(as_of, offsets)
            for name in list(tables):
                cols = tables.pop(name)
                if region == 0 or name not in SHARED_ENTITIES:
                    sink.write(name, cols)
                del cols
            for prefix, count in world.id_counts().items():
                offsets[prefix] = offsets.get(prefix, 0) + count
            del world, tables
    row_counts = dict(sink.rows)
    manifest: dict[str, Any] = {
        "as_of": as_of.isoformat(),
        "anchor": anchor.isoformat(),
        "seed": seed,
        "customers": customers,
        "base_currency": BASE_CURRENCY,
        "format": fmt,
        "row_counts": row_counts,
        "scenarios": scenarios,
    }
    (Path(out_dir) / "scenarios.json").write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return manifest
