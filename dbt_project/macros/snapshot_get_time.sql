{#
    Snapshots record the run date, not the wall clock: dbt_valid_from / dbt_valid_to of a
    version are the as_of_date of the run that saw the change. Backfills as of successive
    dates therefore write the same history as the daily runs would have, and a rerun of a
    date changes nothing. (Run dates must be processed in order for the history to be
    meaningful; a run of a date earlier than the latest one built leaves the history as it
    is, macros/snapshot_guard.sql.)
#}
{% macro default__snapshot_get_time() -%}
    cast('{{ var("as_of_date") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{% macro duckdb__snapshot_get_time() -%}
    cast('{{ var("as_of_date") }}' as timestamp)
{%- endmacro %}

{% macro postgres__snapshot_get_time() -%}
    cast('{{ var("as_of_date") }}' as timestamp without time zone)
{%- endmacro %}
