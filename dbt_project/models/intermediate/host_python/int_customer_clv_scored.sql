{#
    PostgreSQL only: the Python model models/intermediate/int_customer_clv_scored.py, run outside dbt by
    kam_transforms.pgwarehouse.host_models (macros/host_python.sql); DuckDB builds the .py.
#}
{{ config(materialized='host_python') }}
-- depends_on: {{ ref('int_customer_purchase_days') }}
-- depends_on: {{ ref('int_clv_model_fit') }}
select * from {{ this }}
