-- Every run date the project has been built as of, kept across builds (never rebuilt by
-- --full-refresh): the snapshots append history only for the latest of them
-- (macros/snapshot_guard.sql), so recomputing a past date leaves the history untouched.

{{ config(materialized='incremental', unique_key='run_date', full_refresh=false) }}

select {{ as_of_date() }} as run_date
