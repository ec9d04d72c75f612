"""Lifecycle, health, CLV and data-freshness figures for the cockpit (bounded, DuckDB)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from kam_transforms import duck
from kam_transforms.cockpit.queries import BACKGROUND_POINTS, MAX_KEY_POINTS, rows

__all__ = ["STAGES", "clv", "freshness", "health", "lifecycle"]

STAGES = ("prospect", "exploration", "formation", "stability", "decline", "churned")
BANDS = ("green", "yellow", "red")


def lifecycle(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Customers and trailing margin per stage, and the customers whose stage changed."""
    per_stage = {
        stage: (int(n), float(m))
        for stage, n, m in con.execute(
            "select l.lifecycle_stage, count(*), coalesce(sum(t.gross_margin_t12m), 0) "
            "from customer_lifecycle l left join customer_tiers t using (customer_id) "
            "group by 1"
        ).fetchall()
    }
    transitions = con.execute(
        "select previous_stage, lifecycle_stage, count(*) from customer_lifecycle "
        "where is_stage_changed group by all order by 3 desc, 1, 2"
    ).fetchall()
    changed = rows(
        con,
        "select coalesce(d.customer_name, l.customer_id), l.previous_stage, l.lifecycle_stage, "
        "l.stage_entered_date from customer_lifecycle l "
        "left join dim_customers d using (customer_id) where l.is_stage_changed "
        "order by l.stage_entered_date desc, l.customer_id",
    )
    return {"per_stage": per_stage, "transitions": transitions, "changed": changed}


def health(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Customers and key accounts per band; the customers whose band got worse."""
    per_band = {
        band: (int(n), int(k))
        for band, n, k in con.execute(
            "select h.health_band, count(*), count(*) filter (where t.is_key_account) "
            "from customer_health h left join customer_tiers t using (customer_id) group by 1"
        ).fetchall()
    }
    dropped = rows(
        con,
        "select coalesce(d.customer_name, h.customer_id), h.previous_health_band, "
        "h.health_band, h.previous_health_score, h.health_score, "
        "coalesce(t.is_key_account, false) from customer_health h "
        "left join dim_customers d using (customer_id) "
        "left join customer_tiers t using (customer_id) "
        "where case h.health_band when 'green' then 0 when 'yellow' then 1 else 2 end "
        "> case h.previous_health_band when 'green' then 0 when 'yellow' then 1 else 2 end "
        "order by t.is_key_account desc nulls last, h.health_score, h.customer_id",
    )
    return {"per_band": per_band, "dropped": dropped}


def clv(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Historical against predicted value (key accounts and a sample) and the latest model
    run's holdout check."""
    keys = con.execute(
        "select c.historical_margin, c.predicted_clv from customer_clv c "
        "join customer_tiers t using (customer_id) where t.is_key_account "
        "order by t.key_account_score desc, c.customer_id limit ?",
        [MAX_KEY_POINTS],
    ).fetchall()
    background = con.execute(
        "select c.historical_margin, c.predicted_clv from customer_clv c "
        "left join customer_tiers t using (customer_id) "
        "where not coalesce(t.is_key_account, false) "
        "order by hash(c.customer_id), c.customer_id limit ?",
        [BACKGROUND_POINTS],
    ).fetchall()
    (total,) = con.execute("select count(*) from customer_clv").fetchall()[0]
    run = con.execute(
        "select model_run_id, as_of_date, calibration_cutoff_date, holdout_n_customers, "
        "holdout_predicted_purchases, holdout_actual_purchases, holdout_total_error_pct, "
        "holdout_mean_absolute_error, holdout_fallback_reason, total_historical_margin, "
        "total_predicted_clv from clv_model_runs order by as_of_date desc, model_run_id "
        "limit 1"
    ).fetchall()
    keys_ = ("model_run_id", "as_of_date", "cutoff", "customers", "predicted", "actual",
             "error_pct", "mae", "fallback_reason", "historical", "predicted_clv")  # fmt: skip
    return {
        "keys": [(float(x or 0), float(y or 0)) for x, y in keys],
        "background": [(float(x or 0), float(y or 0)) for x, y in background],
        "total": int(total),
        "run": dict(zip(keys_, run[0], strict=True)) if run else None,
    }


def freshness(lake_dir: Path, as_of: date) -> list[tuple[str, str, str | None, Any, int | None]]:
    """(source, entity, newest batch date, its latest ``_loaded_at``, days behind) of every
    canonical entity, from its newest partition on or before ``as_of`` in the lake."""
    from kam_transforms.extract import ordered_entities

    out: list[tuple[str, str, str | None, Any, int | None]] = []
    with duck.connect() as con:
        for ent in ordered_entities():
            root = Path(lake_dir) / "raw" / ent.source / ent.name
            days = sorted(
                (p for p in root.glob("as_of=*") if p.name[6:] <= as_of.isoformat()),
                reverse=True,
            )
            files = sorted(str(f) for f in days[0].glob("*.parquet")) if days else []
            if not files:
                out.append((ent.source, ent.name, None, None, None))
                continue
            (loaded,) = con.execute(
                "select max(_loaded_at) from read_parquet(?, union_by_name = true)", [files]
            ).fetchall()[0]
            day = date.fromisoformat(days[0].name[6:])
            out.append((ent.source, ent.name, day.isoformat(), loaded, (as_of - day).days))
    return out

