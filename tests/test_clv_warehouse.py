"""The CLV model as the warehouse runs it: fitted once per build, scored from that one fit,
on input sums that are the same bits on every read."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pytest

from kam_transforms.clv import bgnbd, gamma_gamma, score_customers
from kam_transforms.clv.simulate import simulate_orders
from kam_transforms.clv.warehouse import fit_for_warehouse, score_for_warehouse

CONFIG = {
    "as_of_date": "2026-10-31",
    "clv_horizon_months": 12,
    "clv_annual_discount_rate": 0.10,
    "clv_holdout_weeks": 26,
}


@pytest.fixture(scope="module")
def purchases() -> pd.DataFrame:
    return simulate_orders(
        800,
        bgnbd.BetaGeoParams(r=0.8, alpha=6.0, a=0.7, b=2.5),
        gamma_gamma.GammaGammaParams(p=6.0, q=4.0, v=15.0),
        as_of="2026-10-31",
        max_age_days=900,
        seed=3,
    )


def test_scoring_from_the_fit_row_equals_fitting_and_scoring(purchases: pd.DataFrame) -> None:
    fit = fit_for_warehouse(purchases, CONFIG)
    assert len(fit) == 1
    row = fit.iloc[0].to_dict()
    assert row["bgnbd_r"] > 0 and row["gamma_gamma_p"] > 0 and not row["is_fallback"]

    from_row = score_for_warehouse(purchases, CONFIG, row)
    direct, run = score_customers(
        purchases, dt.date(2026, 10, 31), horizon_months=12, annual_discount_rate=0.10,
        calibration_cutoff=dt.date(2026, 10, 31) - dt.timedelta(weeks=26),
    )
    assert run["model_run_id"] == row["model_run_id"]
    assert set(from_row["model_run_id"]) == {row["model_run_id"]}
    assert len(from_row) == len(direct) == row["n_customers"]
    for column in ("p_alive", "expected_purchases", "expected_avg_margin", "predicted_clv"):
        np.testing.assert_allclose(
            from_row[column].to_numpy(dtype=float), direct[column].to_numpy(dtype=float),
            rtol=1e-12, err_msg=column,
        )
    assert float(from_row["predicted_clv"].sum()) == pytest.approx(row["total_predicted_clv"])


def test_scoring_from_the_fit_row_never_fits_again(
    purchases: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    row = fit_for_warehouse(purchases, CONFIG).iloc[0].to_dict()

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the scoring step fitted the model a second time")

    monkeypatch.setattr(bgnbd, "fit_bgnbd", refuse)
    monkeypatch.setattr(gamma_gamma, "fit_gamma_gamma", refuse)
    scored = score_for_warehouse(purchases, CONFIG, row)
    assert scored["p_alive"].notna().all()


def test_a_fallback_fit_row_scores_every_customer_as_a_fallback() -> None:
    few = pd.DataFrame(
        {
            "customer_id": ["C1", "C1", "C2"],
            "order_date": ["2026-01-02", "2026-03-04", "2026-02-01"],
            "margin": [10.0, 12.0, 5.0],
        }
    )
    row = fit_for_warehouse(few, CONFIG).iloc[0].to_dict()
    assert row["fallback_reason"] == "bgnbd_too_few_customers"
    scored = score_for_warehouse(few, CONFIG, row)
    assert scored["is_fallback"].all()
    assert list(scored["fallback_reason"]) == ["bgnbd_too_few_customers"] * 2
    assert list(scored["predicted_clv"]) == [22.0, 5.0]


def test_a_fit_row_of_another_date_or_horizon_is_refused(purchases: pd.DataFrame) -> None:
    row = fit_for_warehouse(purchases, CONFIG).iloc[0].to_dict()
    with pytest.raises(ValueError, match="as_of_date"):
        score_for_warehouse(purchases, {**CONFIG, "as_of_date": "2026-09-30"}, row)
    with pytest.raises(ValueError, match="horizon_months"):
        score_for_warehouse(purchases, {**CONFIG, "clv_horizon_months": 6}, row)


def test_exact_sum_is_the_same_bits_on_every_multi_threaded_read() -> None:
    """The expression of the ``exact_sum`` macro, read 8 times with 4 threads over 3M rows
    in 20 groups whose float sums depend on the order of addition."""
    con = duckdb.connect(config={"threads": "4"})
    con.execute(
        """
        create table lines as
        select i % 20 as customer_id,
               (case when i % 3 = 0 then 1e9 when i % 3 = 1 then -1e9 else 0 end)
               + ((hash(i) % 1000003) / 997.0) as margin
        from range(3000000) t(i)
        """
    )
    exact_sql = (
        "select customer_id, cast(sum(cast(margin as decimal(38, 6))) as double) as s "
        "from lines group by customer_id order by customer_id"
    )
    float_sql = "select customer_id, sum(margin) as s from lines group by customer_id order by 1"
    exact = {tuple(con.execute(exact_sql).fetchall()) for _ in range(8)}
    floats = {tuple(con.execute(float_sql).fetchall()) for _ in range(8)}
    assert len(exact) == 1, f"exact sums differ between reads ({len(floats)} float variants)"
    # the exact sums agree with the float sums to rounding: same data, other arithmetic
    for (_, e), (_, f) in zip(next(iter(exact)), next(iter(floats)), strict=True):
        assert e == pytest.approx(f, rel=1e-9, abs=1e-3)


def test_the_clv_input_and_money_aggregates_use_the_exact_sum() -> None:
    from kam_transforms.config import DBT_PROJECT_DIR

    models = DBT_PROJECT_DIR / "models"
    for name in ("intermediate/int_customer_purchase_days.sql",
                 "intermediate/int_customer_revenue_windowed.sql",
                 "marts/fct_customer_monthly.sql"):
        sql = (models / name).read_text(encoding="utf-8")
        assert "exact_sum(" in sql and "sum(gross_margin_base)" not in sql, name
