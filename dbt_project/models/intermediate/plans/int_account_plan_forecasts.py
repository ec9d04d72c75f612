"""The CLV model's expected margin for the rest of each account plan's period.

One row per plan of ``int_account_plans_measured``: BG/NBD's conditional expected purchases
of the plan's customer over the plan's remaining days (``kam_transforms.clv.horizons``, with
the parameters this build's run recorded in ``clv_model_runs``; nothing is refitted), times
the Gamma-Gamma expected margin per purchase (``customer_clv.expected_avg_margin``),
undiscounted. Null where the run did not model the customer (a CLV fallback) or the plan has
no ERP customer.
"""


def model(dbt, session):
    dbt.config(materialized="table")
    import pandas as pd

    from kam_transforms.clv.horizons import expected_purchases_over_days, recorded_run

    plans = dbt.ref("int_account_plans_measured").df()
    run = recorded_run(plans, dbt.ref("clv_model_runs").df())
    purchases = expected_purchases_over_days(plans, run, plans["remaining_days"])
    margin = purchases * plans["expected_avg_margin"].astype("float64").to_numpy()
    return pd.DataFrame(
        {
            "plan_id": plans["plan_id"].astype("string"),
            "rest_expected_purchases": pd.array(purchases, dtype="Float64"),
            "rest_expected_margin_base": pd.array(margin, dtype="Float64"),
        }
    )
