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

    purchases = dbt.ref("int_customer_purchase_days").df()
    # dbt parses these calls: their arguments must be literals.
    config = {
        "as_of_date": dbt.config.get("as_of_date"),
        "clv_horizon_months": dbt.config.get("clv_horizon_months"),
        "clv_annual_discount_rate": dbt.config.get("clv_annual_discount_rate"),
        "clv_holdout_weeks": dbt.config.get("clv_holdout_weeks"),
    }
    _, run = score_for_warehouse(purchases, config)
    # Built after the scored customers (never beside them: two threads importing the CLV
    # package at once race), and from the same run: the ids must agree.
    scored_runs = dbt.ref("int_customer_clv_scored").aggregate("model_run_id").df()
    if set(scored_runs["model_run_id"]) - {run["model_run_id"]}:
        raise RuntimeError(
            f"clv run {run['model_run_id']} differs from the scored customers' "
            f"{sorted(set(scored_runs['model_run_id']))}"
        )
    return model_runs_to_frame([run])
