"""What the cockpit shows, aggregated in DuckDB from the serving warehouse (read-only).

Every result is bounded whatever the number of customers: counts per class, stage or band;
the Pareto curve sampled to at most :data:`CURVE_POINTS` points; scatters of every key
account (at most :data:`MAX_KEY_POINTS`) plus a deterministic sample of the rest (hash of
the customer id, at most :data:`BACKGROUND_POINTS`); tables capped at :data:`MAX_ROWS`
rows with the full count beside them. Nothing is read into pandas.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb

__all__ = [
    "BACKGROUND_POINTS",
    "CURVE_POINTS",
    "MAX_KEY_POINTS",
    "MAX_ROWS",
    "Capped",
    "Overview",
    "has_table",
    "overview",
    "pareto",
    "value_matrix",
    "rows",
]

CURVE_POINTS = 500
BACKGROUND_POINTS = 2000
MAX_KEY_POINTS = 500
MAX_ROWS = 200


@dataclass
class Capped:
    """At most ``MAX_ROWS`` rows of a table and how many there are in all."""

    rows: list[tuple[Any, ...]]
    total: int


@dataclass
class Overview:
    customers: int
    key_accounts: int
    margin_t12m: float
    margin_prior_12m: float
    alerts: dict[str, int]
    build_id: str | None
    validation: list[tuple[str, int, int, int, int]] = field(default_factory=list)

    @property
    def margin_change_share(self) -> float | None:
        if not self.margin_prior_12m:
            return None
        return (self.margin_t12m - self.margin_prior_12m) / abs(self.margin_prior_12m)


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'main' and table_name = ?",
            [name],
        ).fetchall()[0][0]
    )


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> Capped:
    """``sql``'s first :data:`MAX_ROWS` rows and its row count (one pass: a window count)."""
    got = con.execute(
        f"select *, count(*) over () as _total from ({sql}) limit {MAX_ROWS}",  # noqa: S608
        params or [],
    ).fetchall()
    return Capped([r[:-1] for r in got], int(got[0][-1]) if got else 0)


def overview(con: duckdb.DuckDBPyConnection, as_of: date) -> Overview:
    """Customers ranked (``customer_tiers``), key accounts, trailing and prior 12-month
    margin (``customer_facts`` of those customers), alerts of ``as_of`` per severity, and
    the published build's validation per suite (``validation_runs`` of its build id)."""
    customers, key_accounts, margin = con.execute(
        "select count(*), count(*) filter (where is_key_account), "
        "coalesce(sum(gross_margin_t12m), 0) from customer_tiers"
    ).fetchall()[0]
    (prior,) = con.execute(
        "select coalesce(sum(f.gross_margin_prior_12m), 0) from customer_facts f "
        "join customer_tiers t using (customer_id)"
    ).fetchall()[0]
    alerts = dict(
        con.execute(
            "select severity, count(*) from key_account_alerts where as_of_date = ? group by 1",
            [as_of],
        ).fetchall()
    )
    build = con.execute("select build_id from _kam_publish_log limit 1").fetchall()
    build_id = build[0][0] if build else None
    validation: list[tuple[str, int, int, int, int]] = []
    if has_table(con, "validation_runs") and build_id is not None:
        validation = [
            (str(s), int(n), int(ok), int(blocking), int(warnings))
            for s, n, ok, blocking, warnings in con.execute(
                "with latest as (select run_id from validation_runs where build_id = ? "
                "order by validated_at desc limit 1) "
                "select suite, count(*), count(*) filter (where success), "
                "count(*) filter (where not success and severity = 'blocking'), "
                "count(*) filter (where not success and severity <> 'blocking') "
                "from validation_runs where build_id = ? "
                "and run_id = (select run_id from latest) group by suite order by suite",
                [build_id, build_id],
            ).fetchall()
        ]
    return Overview(
        int(customers), int(key_accounts), float(margin), float(prior), alerts, build_id,
        validation,
    )


def pareto(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The Pareto curve (x = rank / customers, y = cumulative share) at most
    :data:`CURVE_POINTS` points plus the first customer of each class, the measure, the
    cut-offs as the largest cumulative share reached inside A and B, class counts and
    shares, and the 3x3 migration counts (previous class -> class)."""
    total, measure = con.execute(
        "select count(*), any_value(abc_measure) from customer_tiers"
    ).fetchall()[0]
    total = int(total)
    step = max(1, -(-total // CURVE_POINTS))
    curve = con.execute(
        "select measure_rank::double / ?, cumulative_share from customer_tiers "
        "where measure_rank % ? = 0 or measure_rank in (1, ?) "
        "or measure_rank in (select min(measure_rank) from customer_tiers group by abc_class) "
        "order by measure_rank",
        [total or 1, step, total],
    ).fetchall()
    classes = con.execute(
        "select abc_class, count(*), coalesce(sum(measure_value) filter "
        "(where measure_value > 0), 0), max(measure_rank)::double / ?, "
        "max(cumulative_share) from customer_tiers group by 1 order by 1",
        [total or 1],
    ).fetchall()
    positive = sum(float(c[2]) for c in classes) or 1.0
    migration = {
        (prev, now): int(n)
        for prev, now, n in con.execute(
            "select previous_abc_class, abc_class, count(*) from customer_tiers group by all"
        ).fetchall()
    }
    return {
        "total": total,
        "measure": measure or "gross_margin",
        "curve": [(float(x), float(y)) for x, y in curve],
        "classes": [
            {"class": c, "customers": int(n), "value": float(v), "share": float(v) / positive,
             "rank_share": float(r), "cum_share": float(s)}
            for c, n, v, r, s in classes
        ],
        "migration": migration,
    }


def value_matrix(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Every key account (by score, at most :data:`MAX_KEY_POINTS`) and a deterministic
    sample of the other customers (:data:`BACKGROUND_POINTS`), their current and potential
    value, the two thresholds (the smallest value counted high), and counts per quadrant."""
    keys = con.execute(
        "select t.current_value, t.potential_value, coalesce(d.customer_name, t.customer_id) "
        "from customer_tiers t left join dim_customers d using (customer_id) "
        "where t.is_key_account order by t.key_account_score desc, t.customer_id limit ?",
        [MAX_KEY_POINTS],
    ).fetchall()
    background = con.execute(
        "select current_value, potential_value from customer_tiers "
        "where not coalesce(is_key_account, false) "
        "order by hash(customer_id), customer_id limit ?",
        [BACKGROUND_POINTS],
    ).fetchall()
    cur_t, pot_t, total = con.execute(
        "select min(current_value) filter (where is_high_current_value), "
        "min(potential_value) filter (where is_high_potential_value), count(*) "
        "from customer_tiers"
    ).fetchall()[0]
    quadrants = con.execute(
        "select value_quadrant, count(*), count(*) filter (where is_key_account), "
        "coalesce(sum(gross_margin_t12m), 0) from customer_tiers group by 1 order by 1"
    ).fetchall()
    return {
        "keys": [(float(x or 0), float(y or 0), str(n)) for x, y, n in keys],
        "background": [(float(x or 0), float(y or 0)) for x, y in background],
        "current_threshold": None if cur_t is None else float(cur_t),
        "potential_threshold": None if pot_t is None else float(pot_t),
        "total": int(total),
        "quadrants": [(q, int(n), int(k), float(m)) for q, n, k, m in quadrants],
    }
