{#
    PostgreSQL only: the Python model models/intermediate/economics/int_clv_purchase_horizons.py, run outside dbt by
    kam_transforms.pgwarehouse.host_models (macros/host_python.sql); DuckDB builds the .py.
#}
{{ config(materialized='host_python') }}
-- depends_on: {{ ref('customer_clv') }}
-- depends_on: {{ ref('clv_model_runs') }}
select * from {{ this }}
