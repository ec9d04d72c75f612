{#
    The latest landed version of each key of a lake entity, as of var('as_of_date').

    Reads every batch of the source whose partition `as_of` is on or before the run date
    and keeps, per primary key, the row of the latest `as_of`, then the latest
    `_loaded_at`. Works for full snapshot drops (each partition holds everything known
    then) and for incremental batches (each holds only the changed rows) alike; a
    backfill as of an earlier date never sees later partitions.

    Deletes: a connector lands a deleted or archived record as a row with
    `is_deleted = 'true'` (a tombstone). When that is the latest version of a key, the key
    is dropped here, unless `keep_deleted` (CRM accounts carry is_deleted as a soft-delete
    flag the marts report).

    Returns a select statement; the caller wraps it in a CTE and selects its columns
    explicitly (the helper column `_landed_rank` is dropped there).
#}
{% macro latest_landed(source_name, table_name, key_columns, keep_deleted=false) -%}
    {%- if key_columns is string -%}{%- set key_columns = [key_columns] -%}{%- endif -%}
    select *
    from (
        select
            landed.*,
            row_number() over (
                partition by {{ key_columns | join(', ') }}
                order by
                    {{ landed_partition_date('landed.as_of') }} desc,
                    landed._loaded_at desc,
                    landed._batch_id desc
            ) as _landed_rank
        from {{ source(source_name, table_name) }} as landed
        where {{ landed_partition_date('landed.as_of') }} <= {{ as_of_date() }}
    ) as ranked
    where
        _landed_rank = 1
        {%- if not keep_deleted %}
        and coalesce(
            lower(cast({{ landed_optional_column(source_name, table_name, 'is_deleted') }} as {{ dbt.type_string() }})),
            'false'
        ) not in ('true', '1')
        {%- endif %}
{%- endmacro %}


{# The hive partition value `as_of=<YYYY-MM-DD>` as a date (DuckDB may infer it as a date or a string). #}
{% macro landed_partition_date(column) -%}
    cast(cast({{ column }} as {{ dbt.type_string() }}) as date)
{%- endmacro %}


{# The run date, var('as_of_date'), as a date literal. #}
{% macro as_of_date() -%}
    cast('{{ var("as_of_date") }}' as date)
{%- endmacro %}


{#
    An optional landed column (one carried beyond the canonical contract, e.g.
    accounts.owner_assigned_at): the column when the landed files have it, else a null, so
    a connector that does not provide it does not break the build.
#}
{% macro landed_optional_column(source_name, table_name, column) -%}
    {%- set present = true -%}
    {%- if execute -%}
        {%- set probe = run_query("select * from " ~ source(source_name, table_name) ~ " limit 0") -%}
        {%- set present = column in probe.column_names -%}
    {%- endif -%}
    {{ column if present else 'cast(null as ' ~ dbt.type_string() ~ ')' }}
{%- endmacro %}


{# The lineage columns every staging model carries: which batch, when landed, for which date. #}
{% macro landed_metadata_columns() -%}
    cast(_batch_id as {{ dbt.type_string() }}) as landed_batch_id,
    cast(_loaded_at as {{ dbt.type_timestamp() }}) as landed_at,
    {{ landed_partition_date('as_of') }} as landed_as_of_date
{%- endmacro %}
