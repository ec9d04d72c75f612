"""Predictive customer lifetime value: BG/NBD purchases with Gamma-Gamma margin per purchase.

No Airflow imports here: a dbt-duckdb Python model or a task calls
:func:`score_customers` with an orders DataFrame and the run's as-of date.

Modules: :mod:`~kam_transforms.clv.features` (orders to frequency/recency/T),
:mod:`~kam_transforms.clv.bgnbd`, :mod:`~kam_transforms.clv.gamma_gamma`,
:mod:`~kam_transforms.clv.predict` (scoring, discounting, holdout check, run records),
:mod:`~kam_transforms.clv.simulate` (draws from known parameters, for tests and demos).

In a dbt-duckdb Python model (the as-of date comes from a dbt var, never the clock)::

    def model(dbt, session):
        from kam_transforms.clv import score_customers

        orders = dbt.ref("int_orders_margined").df()  # customer_id, order_date, margin
        clv, run = score_customers(
            orders,
            dbt.config.get("as_of"),
            calibration_cutoff=dbt.config.get("clv_calibration_cutoff"),
        )
        return clv

Scoring is deterministic, so a sibling model can call it again and return
``model_runs_to_frame([run])`` for the ``clv_model_runs`` table (same ``model_run_id``).
"""

from kam_transforms.clv.bgnbd import (
    BetaGeoFit,
    BetaGeoParams,
    conditional_expected_purchases,
    expected_purchases,
    fit_bgnbd,
    probability_alive,
)
from kam_transforms.clv.errors import CLVError, InsufficientDataError, ModelFitError
from kam_transforms.clv.features import summarise_orders
from kam_transforms.clv.gamma_gamma import (
    GammaGammaFit,
    GammaGammaParams,
    conditional_expected_average_margin,
    fit_gamma_gamma,
)
from kam_transforms.clv.predict import (
    CLV_COLUMNS,
    MODEL_RUN_COLUMNS,
    MODEL_VERSION,
    discounted_clv,
    model_runs_to_frame,
    score_customers,
)

__all__ = [
    "CLV_COLUMNS",
    "MODEL_RUN_COLUMNS",
    "MODEL_VERSION",
    "BetaGeoFit",
    "BetaGeoParams",
    "CLVError",
    "GammaGammaFit",
    "GammaGammaParams",
    "InsufficientDataError",
    "ModelFitError",
    "conditional_expected_average_margin",
    "conditional_expected_purchases",
    "discounted_clv",
    "expected_purchases",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "model_runs_to_frame",
    "probability_alive",
    "score_customers",
    "summarise_orders",
]
