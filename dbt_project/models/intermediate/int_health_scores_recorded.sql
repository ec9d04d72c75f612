-- Each customer's health score per run date, kept across builds (never rebuilt by
-- --full-refresh): the "previous run" score customer_health compares with. The health
-- snapshot versions a customer only when its band changes, so the score, which moves
-- almost every run, is kept here instead: one narrow row per customer and recorded run,
-- appended, never updated. Like the snapshots, rows are added only by a run of the latest
-- run date built so far (macros/snapshot_guard.sql), and a rerun of that date first removes
-- its own rows (pre-hook), so a recomputed past date leaves the record as it is.

{{ config(
    materialized='incremental',
    incremental_strategy='append',
    full_refresh=false,
    pre_hook="{{ undo_run_date_rows('run_date') }}",
) }}

with

health as (

    select * from {{ ref('customer_health') }}

),

final as (

    select
        health.as_of_date as run_date,
        health.customer_key,
        health.health_score
    from health
    where {{ is_latest_run_date() }}

)

select * from final
