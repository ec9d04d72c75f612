"""The build's one CLV model fit: BG/NBD and Gamma-Gamma fitted once on
int_customer_purchase_days as of var ``as_of_date``, with the calibration/holdout check.

One row in the columns of ``clv_model_runs``. ``int_customer_clv_scored`` scores every
customer from this row's parameters (no second fit) and ``clv_model_runs`` appends it to the
run history, so both always carry the same ``model_run_id``.
"""


def model(dbt, session):
    dbt.config(materialized="table")
    from kam_transforms.clv.warehouse import fit_for_warehouse

    purchases = dbt.ref("int_customer_purchase_days").df()
    # dbt parses these calls: their arguments must be literals.
    config = {
        "as_of_date": dbt.config.get("as_of_date"),
        "clv_horizon_months": dbt.config.get("clv_horizon_months"),
        "clv_annual_discount_rate": dbt.config.get("clv_annual_discount_rate"),
        "clv_holdout_weeks": dbt.config.get("clv_holdout_weeks"),
    }
    return fit_for_warehouse(purchases, config)
