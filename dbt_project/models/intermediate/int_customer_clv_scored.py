"""Predicted customer lifetime value per customer: BG/NBD purchases x Gamma-Gamma margin.

A dbt-duckdb Python model over int_customer_purchase_days: one purchase per customer and order
date with its gross margin in base currency, scored by ``kam_transforms.clv`` as of var
``as_of_date`` over var ``clv_horizon_months`` months, discounted at var
``clv_annual_discount_rate``, with the parameters of the build's one fit (``int_clv_model_fit``;
no second fit). The model's own fallbacks (too little data to fit) are flagged per customer in
``is_fallback`` / ``fallback_reason``.
"""


def model(dbt, session):
    dbt.config(materialized="table")
    from kam_transforms.clv.warehouse import score_for_warehouse

    purchases = dbt.ref("int_customer_purchase_days").df()
    fits = dbt.ref("int_clv_model_fit").df()
    if len(fits) != 1:
        raise RuntimeError(f"int_clv_model_fit holds {len(fits)} rows, not the build's one fit")
    run_row = fits.iloc[0].to_dict()
    # dbt parses these calls: their arguments must be literals.
    config = {
        "as_of_date": dbt.config.get("as_of_date"),
        "clv_horizon_months": dbt.config.get("clv_horizon_months"),
        "clv_annual_discount_rate": dbt.config.get("clv_annual_discount_rate"),
        "clv_holdout_weeks": dbt.config.get("clv_holdout_weeks"),
    }
    scored = score_for_warehouse(purchases, config, run_row)
    scored["model_version"] = run_row["model_version"]
    for column in ("p_alive", "expected_purchases"):
        scored[column] = scored[column].astype("float64")
    for column in ("model_run_id", "fallback_reason", "customer_id", "model_version"):
        scored[column] = scored[column].astype("string")
    return scored
