{#
    The state of the previous run, read from a snapshot this project writes (SCD2 history
    with dbt_valid_from = the as_of_date of the run that recorded it, see
    snapshot_get_time.sql): the version of each row in force on the day before
    var('as_of_date'). A rerun of the same date therefore sees the same previous state.

    The snapshot is read without ref() (it is built from the model that reads it); on the
    first run, before it exists, this yields no rows of the given columns and types.

    columns: list of (name, sql type) pairs, the first being the key.
#}
{% macro previous_run_state(snapshot_name, columns) -%}
    {%- set relation = none -%}
    {%- if execute -%}
        {%- set relation = adapter.get_relation(
            database=target.database,
            schema=generate_schema_name('snapshots', none) | trim,
            identifier=snapshot_name,
        ) -%}
    {%- endif -%}
    {%- if relation is not none %}
    select
        {%- for name, type in columns %}
        cast({{ name }} as {{ type }}) as {{ name }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ relation }}
    where
        dbt_valid_from < cast({{ as_of_date() }} as {{ dbt.type_timestamp() }})
        and (dbt_valid_to is null or dbt_valid_to >= cast({{ as_of_date() }} as {{ dbt.type_timestamp() }}))
    {%- else %}
    select
        {%- for name, type in columns %}
        cast(null as {{ type }}) as {{ name }}{{ ',' if not loop.last }}
        {%- endfor %}
    where 1 = 0
    {%- endif %}
{%- endmacro %}


{#
    The rows a model that records one row per key and run date (int_health_scores_recorded)
    holds for the latest run date recorded before var('as_of_date'): the previous run's
    values. Only that date's rows are read, so the cost stays one run's rows however many
    runs are kept (the rows are appended in run-date order, DuckDB skips the others by their
    zone maps). Read without ref() (the model is built from the one that reads it); before it
    exists this yields no rows of the given columns and types.

    columns: list of (name, sql type) pairs, the first being the key.
#}
{% macro previous_recorded_run(model_name, date_column, columns) -%}
    {%- set relation = none -%}
    {%- if execute -%}
        {%- set relation = adapter.get_relation(
            database=target.database,
            schema=generate_schema_name('intermediate', none) | trim,
            identifier=model_name,
        ) -%}
    {%- endif -%}
    {%- if relation is not none %}
    select
        {%- for name, type in columns %}
        cast({{ name }} as {{ type }}) as {{ name }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ relation }}
    where {{ date_column }} = (
        select max({{ date_column }}) from {{ relation }}
        where {{ date_column }} < {{ as_of_date() }}
    )
    {%- else %}
    select
        {%- for name, type in columns %}
        cast(null as {{ type }}) as {{ name }}{{ ',' if not loop.last }}
        {%- endfor %}
    where 1 = 0
    {%- endif %}
{%- endmacro %}
