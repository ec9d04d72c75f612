-- One row per CLV model run, kept across builds: the build's one fit (int_clv_model_fit)
-- appended to the history, replaced when the same run (same id) is built again. Its columns
-- are int_clv_model_fit's (hence the noqa on the select below).

{{ config(materialized='incremental', unique_key='model_run_id', on_schema_change='append_new_columns') }}

with

model_fit as (

    select * from {{ ref('int_clv_model_fit') }}

),

final as (

    select * from model_fit

)

select * from final  -- noqa: AM04
