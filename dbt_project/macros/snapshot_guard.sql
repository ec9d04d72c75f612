{#
    The snapshots append versions only in a run of the latest run date built so far
    (int_history_run_dates, which already holds the current one): a where-condition for a
    snapshot's select. A recompute of a past date selects no rows, so with hard deletes
    ignored (the default) the snapshot keeps every version as it was; that date's marts
    read the history as of the run date (previous_run_state, customer_tier_changes).
    Reruns of the latest date and later dates append as before.
#}
{% macro is_latest_run_date() -%}
    {{ as_of_date() }} >= (select max(run_date) from {{ ref('int_history_run_dates') }})
{%- endmacro %}
