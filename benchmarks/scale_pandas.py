"""The customer_facts core and customer_tiers ABC core in plain pandas (the benchmark's
"what many teams would write": read every landed file into frames, merge, group by).

Same definitions as ``floor.sql`` and the dbt models (see :mod:`scale_core`). Money sums
are taken in integer millionths, the dbt ``exact_sum`` (decimal(38, 6)); running shares
are float cumulative sums.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from core_vars import CoreVars

__all__ = ["core_frames"]


def _landed(lake: Path, entity: str, as_of: date, keys: list[str]) -> pd.DataFrame:
    """The latest landed version of each key as of ``as_of``, tombstones dropped."""
    frames = []
    for path in sorted((lake / "raw" / "erp" / entity).glob("as_of=*/*.parquet")):
        partition = date.fromisoformat(path.parent.name.split("=", 1)[1])
        if partition <= as_of:
            frame = pd.read_parquet(path)
            frame["_as_of"] = partition
            frames.append(frame)
    landed = pd.concat(frames, ignore_index=True)
    landed = landed.sort_values(["_as_of", "_loaded_at", "_batch_id"]).drop_duplicates(
        keys, keep="last"
    )
    if "is_deleted" in landed:
        deleted = landed["is_deleted"].astype("string").str.lower().isin(["true", "1"])
        landed = landed[~deleted.fillna(False)]
    return landed


def _text(column: pd.Series) -> pd.Series:
    stripped = column.astype("string").str.strip()
    return stripped.mask(stripped == "")


def _double(column: pd.Series) -> pd.Series:
    return _text(column).astype("float64")


def _date(column: pd.Series) -> pd.Series:
    return pd.to_datetime(_text(column).str[:10])


def _micros(values: pd.Series) -> pd.Series:
    """Each value to integer millionths (nullable): the exact_sum macro's decimal(38, 6)."""
    return np.round(values * 1e6).astype("Int64")


def _from_micros(values: pd.Series) -> pd.Series:
    return values.astype("float64") / 1e6


def _months_before(end: pd.Timestamp, months: int) -> pd.Timestamp:
    return end - pd.DateOffset(months=months)


def _order_lines(lake: Path, as_of: date, core_vars: CoreVars) -> tuple[pd.DataFrame, int]:
    """Valid order lines with revenue, margin, list and discount amounts in the base
    currency, and the number of product categories."""
    run_date = pd.Timestamp(as_of)
    base = core_vars.base_currency

    orders = _landed(lake, "orders", as_of, ["order_id"])
    orders = pd.DataFrame(
        {
            "order_id": _text(orders["order_id"]),
            "customer_id": _text(orders["customer_id"]),
            "order_date": _date(orders["order_date"]),
            "currency": _text(orders["currency"]).str.upper().fillna(base),
            "status": _text(orders["status"]).str.lower().fillna(""),
        }
    )
    orders = orders[
        (orders["order_date"] <= run_date)
        & ~orders["status"].isin(list(core_vars.cancelled_statuses))
    ]

    products = _landed(lake, "products", as_of, ["product_id"])
    products = pd.DataFrame(
        {
            "product_id": _text(products["product_id"]),
            "product_category": _text(products["category"]),
            "product_unit_cost": _double(products["unit_cost"]),
            "product_currency": _text(products["currency"]).str.upper(),
        }
    )

    lines = _landed(lake, "order_lines", as_of, ["order_line_id"])
    lines = pd.DataFrame(
        {
            "order_id": _text(lines["order_id"]),
            "product_id": _text(lines["product_id"]),
            "quantity": _double(lines["quantity"]),
            "unit_price": _double(lines["unit_price"]),
            "discount_pct": _double(lines["discount_pct"]).fillna(0.0),
            "line_unit_cost": _double(lines["unit_cost"]),
        }
    )
    lines = lines.merge(orders, on="order_id", how="inner").merge(
        products, on="product_id", how="left"
    )
    lines["unit_cost"] = lines["line_unit_cost"].fillna(lines["product_unit_cost"])
    lines["cost_currency"] = lines["currency"].where(
        lines["line_unit_cost"].notna(), lines["product_currency"].fillna(lines["currency"])
    )

    fx = _landed(lake, "fx_rates", as_of, ["currency", "rate_date"])
    fx = pd.DataFrame(
        {
            "currency": _text(fx["currency"]).str.upper(),
            "rate_date": _date(fx["rate_date"]),
            "rate_to_base": _double(fx["rate_to_base"]),
        }
    )
    fx = fx[fx["rate_date"] <= run_date].sort_values("rate_date")
    first_rate = fx.groupby("currency")["rate_to_base"].first()

    lines = lines.sort_values("order_date", kind="stable")
    for currency_column, rate_column in (
        ("currency", "fx_rate_to_base"),
        ("cost_currency", "cost_fx_rate_to_base"),
    ):
        rates = fx.rename(columns={"currency": currency_column, "rate_to_base": rate_column})
        lines = pd.merge_asof(
            lines, rates, left_on="order_date", right_on="rate_date", by=currency_column,
            direction="backward",
        ).drop(columns="rate_date")
        lines[rate_column] = lines[rate_column].fillna(lines[currency_column].map(first_rate))
        lines.loc[lines[currency_column] == base, rate_column] = 1.0

    q, p, d = lines["quantity"], lines["unit_price"], lines["discount_pct"]
    fx_rate, cost_fx_rate = lines["fx_rate_to_base"], lines["cost_fx_rate_to_base"]
    lines["revenue_base"] = q * p * (1 - d) * fx_rate
    lines["gross_margin_base"] = q * p * (1 - d) * fx_rate - q * lines["unit_cost"] * cost_fx_rate
    lines["list_amount_base"] = q * p * fx_rate
    lines["discount_amount_base"] = d * q * p * fx_rate
    return lines, int(products["product_category"].nunique())


def _per_customer(lines: pd.DataFrame, as_of: date, core_vars: CoreVars) -> pd.DataFrame:
    run_date = pd.Timestamp(as_of)
    months = core_vars.trailing_months
    tier_date = run_date - pd.Timedelta(days=core_vars.tier_comparison_days)
    when = lines["order_date"]
    trailing = when > _months_before(run_date, months)
    prior = (when > _months_before(run_date, 2 * months)) & ~trailing
    previous = (when > _months_before(tier_date, months)) & (when <= tier_date)

    sums = pd.DataFrame({"customer_id": lines["customer_id"]})
    for name, column, flag in (
        ("revenue_t12m", "revenue_base", trailing),
        ("gross_margin_t12m", "gross_margin_base", trailing),
        ("revenue_prior_12m", "revenue_base", prior),
        ("gross_margin_prior_12m", "gross_margin_base", prior),
        ("previous_gross_margin_t12m", "gross_margin_base", previous),
        ("revenue_lifetime", "revenue_base", None),
        ("gross_margin_lifetime", "gross_margin_base", None),
        ("discount_amount_t12m", "discount_amount_base", trailing),
        ("list_amount_t12m", "list_amount_base", trailing),
    ):
        micros = _micros(lines[column])
        sums[name] = micros if flag is None else micros.where(flag, 0)
    grouped = sums.groupby("customer_id", dropna=False).sum(min_count=1)
    grouped = grouped.apply(_from_micros)

    by_customer = lines.groupby("customer_id", dropna=False)
    grouped["first_order_date"] = by_customer["order_date"].min()
    grouped["last_order_date"] = by_customer["order_date"].max()
    grouped["order_count_total"] = by_customer["order_id"].nunique()
    in_window = lines[trailing].groupby("customer_id", dropna=False)
    grouped["order_count_t12m"] = in_window["order_id"].nunique()
    grouped["distinct_products_t12m"] = in_window["product_id"].nunique()
    grouped["distinct_categories_t12m"] = in_window["product_category"].nunique()
    for column in ("order_count_t12m", "distinct_products_t12m", "distinct_categories_t12m"):
        grouped[column] = grouped[column].fillna(0)
    return grouped.reset_index()


def _score(rank: pd.Series) -> pd.Series:
    return (1 + np.floor(5.0 * (rank - 1) / len(rank))).astype("Int64")


def _facts(
    customers: pd.Series, per_customer: pd.DataFrame, category_count: int, as_of: date
) -> pd.DataFrame:
    run_date = pd.Timestamp(as_of)
    ordering = per_customer[per_customer["customer_id"].isin(customers)].copy()
    ordering["recency_days"] = (run_date - ordering["last_order_date"]).dt.days
    rfm = pd.DataFrame(
        {
            "customer_id": ordering["customer_id"],
            "recency_score": _score(ordering["recency_days"].rank(method="min", ascending=False)),
            "frequency_score": _score(ordering["order_count_t12m"].rank(method="min")),
            "monetary_score": _score(ordering["revenue_t12m"].rank(method="min")),
        }
    )
    facts = (
        pd.DataFrame({"customer_id": customers})
        .merge(per_customer, on="customer_id", how="left")
        .merge(rfm, on="customer_id", how="left")
    )
    out = pd.DataFrame({"customer_id": facts["customer_id"]})
    out["first_order_date"] = facts["first_order_date"].dt.date
    out["last_order_date"] = facts["last_order_date"].dt.date
    out["tenure_days"] = (run_date - facts["first_order_date"]).dt.days.astype("Int64")
    out["recency_days"] = (run_date - facts["last_order_date"]).dt.days.astype("Int64")
    for column in ("order_count_total", "order_count_t12m"):
        out[column] = facts[column].fillna(0).astype("int64")
    for column in ("recency_score", "frequency_score", "monetary_score"):
        out[column] = facts[column]
    out["rfm_code"] = (
        facts["recency_score"].astype("string")
        + facts["frequency_score"].astype("string")
        + facts["monetary_score"].astype("string")
    )
    money = facts[
        ["revenue_t12m", "gross_margin_t12m", "revenue_prior_12m", "gross_margin_prior_12m"]
    ].fillna(0.0)
    for column in money:
        out[column] = money[column]
    out["revenue_change_share"] = _ratio(
        money["revenue_t12m"] - money["revenue_prior_12m"], money["revenue_prior_12m"],
        money["revenue_prior_12m"] != 0,
    )
    out["gross_margin_change_share"] = _ratio(
        money["gross_margin_t12m"] - money["gross_margin_prior_12m"],
        money["gross_margin_prior_12m"], money["gross_margin_prior_12m"] > 0,
    )
    out["gross_margin_rate_t12m"] = _ratio(
        money["gross_margin_t12m"], money["revenue_t12m"], money["revenue_t12m"] > 0
    )
    out["revenue_lifetime"] = facts["revenue_lifetime"].fillna(0.0)
    out["gross_margin_lifetime"] = facts["gross_margin_lifetime"].fillna(0.0)
    out["distinct_products_t12m"] = facts["distinct_products_t12m"].fillna(0).astype("int64")
    out["distinct_categories_t12m"] = facts["distinct_categories_t12m"].fillna(0).astype("int64")
    out["category_share_t12m"] = (
        1.0 * out["distinct_categories_t12m"] / category_count if category_count > 0 else 0.0
    )
    out["average_order_value_t12m"] = _ratio(
        money["revenue_t12m"], facts["order_count_t12m"], facts["order_count_t12m"] > 0
    )
    out["average_discount_share_t12m"] = _ratio(
        facts["discount_amount_t12m"], facts["list_amount_t12m"], facts["list_amount_t12m"] > 0
    )
    return out


def _ratio(numerator: pd.Series, denominator: pd.Series, valid: pd.Series) -> pd.Series:
    return (numerator / denominator.where(valid)).astype("float64")


def _abc(measure: pd.Series, share_before: pd.Series, cutoffs: tuple[Any, Any]) -> np.ndarray:
    return np.select(
        [measure <= 0, share_before < cutoffs[0], share_before < cutoffs[1]], ["C", "A", "B"], "C"
    )


def _running_share(measured: pd.DataFrame, column: str) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Rank, cumulative share and share before of ``column`` (largest first, ties by id),
    aligned on ``measured``'s index."""
    ordered = measured.sort_values(
        [column, "customer_id"], ascending=[False, True], na_position="last", kind="stable"
    )
    positive = ordered[column].clip(lower=0)
    running = positive.cumsum()
    total = positive.sum()
    rank = pd.Series(np.arange(1, len(ordered) + 1), index=ordered.index)
    if total > 0:
        cumulative = np.minimum(1.0, running / total)
        before = (running - positive) / total
    else:
        cumulative = running * 0.0
        before = running * 0.0 + 1.0
    return tuple(s.reindex(measured.index) for s in (rank, cumulative, before))


def _tiers(customers: pd.Series, per_customer: pd.DataFrame, core_vars: CoreVars) -> pd.DataFrame:
    measured = pd.DataFrame({"customer_id": customers}).merge(
        per_customer, on="customer_id", how="left"
    )
    for column in (
        "revenue_t12m", "gross_margin_t12m", "revenue_prior_12m", "previous_gross_margin_t12m"
    ):
        measured[column] = measured[column].fillna(0.0)
    measured = measured.reset_index(drop=True)
    measure = measured["gross_margin_t12m"]
    previous = measured["previous_gross_margin_t12m"]
    rank, cumulative, before = _running_share(measured, "gross_margin_t12m")
    _, _, previous_before = _running_share(measured, "previous_gross_margin_t12m")
    cutoffs = (core_vars.cutoff_a, core_vars.cutoff_b)
    unbanded = _abc(measure, before, cutoffs)
    previous_class = pd.Series(_abc(previous, previous_before, cutoffs), index=measured.index)
    band = core_vars.band
    widen_a = np.where(previous_class == "A", band, -band)
    widen_b = np.where(previous_class.isin(["A", "B"]), band, -band)
    banded = np.select(
        [measure <= 0, before < cutoffs[0] + widen_a, before < cutoffs[1] + widen_b],
        ["C", "A", "B"],
        "C",
    )
    out = pd.DataFrame(
        {
            "customer_id": measured["customer_id"],
            "revenue_t12m": measured["revenue_t12m"],
            "gross_margin_t12m": measure,
            "measure_value": measure,
            "measure_rank": rank,
            "cumulative_share": cumulative,
            "abc_class": banded,
            "previous_abc_class": previous_class,
            "is_class_changed": banded != previous_class,
            "revenue_prior_12m": measured["revenue_prior_12m"],
            "revenue_change_share": _ratio(
                measured["revenue_t12m"] - measured["revenue_prior_12m"],
                measured["revenue_prior_12m"], measured["revenue_prior_12m"] != 0,
            ),
            "unbanded_abc_class": unbanded,
            "cumulative_share_before": before,
            "current_value": measure,
        }
    )
    return out


def core_frames(
    lake: Path, as_of: date, core_vars: CoreVars
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(customer_facts core, customer_tiers core) from the landed files of ``lake``."""
    customers = _text(_landed(lake, "customers", as_of, ["customer_id"])["customer_id"])
    lines, category_count = _order_lines(lake, as_of, core_vars)
    per_customer = _per_customer(lines, as_of, core_vars)
    return (
        _facts(customers, per_customer, category_count, as_of),
        _tiers(customers, per_customer, core_vars),
    )
