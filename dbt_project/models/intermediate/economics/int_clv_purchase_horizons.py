"""Expected purchases of this build's CLV run at each demand-forecast horizon.

One row per customer of ``customer_clv`` and horizon of var ``demand_forecast_horizons_months``:
BG/NBD's conditional expected purchases over the next h months, evaluated with the parameters
the run recorded in ``clv_model_runs`` (``kam_transforms.clv.horizons``; nothing is refitted).
Null where the run did not model the customer (a fallback without expected purchases).
"""


def model(dbt, session):
    dbt.config(materialized="table")
    from kam_transforms.clv.horizons import (
        expected_purchases_by_horizon,
        parse_horizons,
        recorded_run,
    )

    customers = dbt.ref("customer_clv").df()
    run = recorded_run(customers, dbt.ref("clv_model_runs").df())
    # dbt parses this call: its argument must be a literal.
    horizons = parse_horizons(dbt.config.get("demand_forecast_horizons_months"))
    return expected_purchases_by_horizon(customers, run, horizons)
