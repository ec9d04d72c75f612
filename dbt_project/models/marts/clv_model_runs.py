"""One row per CLV model run: fitted BG/NBD and Gamma-Gamma parameters, log-likelihood,
convergence, and the calibration/holdout check (predicted against actual purchases), kept
across runs so a data engineer can see whether the model earns its keep."""


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        unique_key="model_run_id",
        on_schema_change="append_new_columns",
        contract={"enforced": False},
    )
    from kam_transforms.clv import model_runs_to_frame
    from kam_transforms.clv.warehouse import score_for_warehouse

    purchases = (
        dbt.ref("fct_order_lines")
        .aggregate(
            "customer_id, order_date, sum(gross_margin_base) as margin",
            "customer_id, order_date",
        )
        .df()
    )
    # dbt parses these calls: their arguments must be literals.
    config = {
        "as_of_date": dbt.config.get("as_of_date"),
        "clv_horizon_months": dbt.config.get("clv_horizon_months"),
        "clv_annual_discount_rate": dbt.config.get("clv_annual_discount_rate"),
        "clv_holdout_weeks": dbt.config.get("clv_holdout_weeks"),
    }
    _, run = score_for_warehouse(purchases, config)
    return model_runs_to_frame([run])
