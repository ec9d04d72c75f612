{#
    The snapshots append versions only in a run of the latest run date built so far
    (int_history_run_dates, which already holds the current one): a where-condition for a
    snapshot's select. A recompute of a past date selects no rows, so with hard deletes
    ignored (the default) the snapshot keeps every version as it was; that date's marts
    read the history as of the run date (previous_run_state, customer_tier_changes).
    A rerun of the latest date first undoes that date's own versions (undo_run_date_versions,
    each snapshot's pre-hook), so it replaces them instead of stacking a second version
    with the same valid_from (an interval of length zero) when its inputs changed: a
    re-landed file drop, other dbt vars.
#}
{% macro is_latest_run_date() -%}
    {{ as_of_date() }} >= (select max(run_date) from {{ ref('int_history_run_dates') }})
{%- endmacro %}


{#
    Pre-hook of every snapshot: when this run is of the latest run date, remove the versions
    a previous run of the same date opened and reopen the ones it closed; the snapshot then
    applies this run's changes to the history as it stood before that date. A no-op on the
    first run of a date, on a recompute of a past date, and before the snapshot exists.
#}
{% macro undo_run_date_versions() -%}
    {%- if execute and load_relation(this) is not none -%}
        delete from {{ this }}
        where dbt_valid_from = {{ snapshot_get_time() }} and {{ is_latest_run_date() }};
        update {{ this }} set dbt_valid_to = null
        where dbt_valid_to = {{ snapshot_get_time() }} and {{ is_latest_run_date() }}
    {%- endif -%}
{%- endmacro %}


{#
    Pre-hook of a model that records one row per key and run date (int_health_scores_recorded):
    when this run is of the latest run date, remove the rows a previous run of the same date
    recorded, so the rerun replaces them. A no-op on a recompute of a past date and before
    the model exists.
#}
{% macro undo_run_date_rows(date_column) -%}
    {%- if execute and load_relation(this) is not none -%}
        delete from {{ this }}
        where {{ date_column }} = {{ as_of_date() }} and {{ is_latest_run_date() }}
    {%- endif -%}
{%- endmacro %}
