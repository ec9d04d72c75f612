{#
    PostgreSQL only: the Python model models/intermediate/plans/int_account_plan_forecasts.py, run outside dbt by
    kam_transforms.pgwarehouse.host_models (macros/host_python.sql); DuckDB builds the .py.
#}
{{ config(materialized='host_python') }}
-- depends_on: {{ ref('int_account_plans_measured') }}
-- depends_on: {{ ref('clv_model_runs') }}
select * from {{ this }}
