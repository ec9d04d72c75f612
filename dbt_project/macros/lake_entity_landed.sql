{#
    Whether any batch of a lake entity has landed (a Parquet file under
    raw/<source>/<entity>/as_of=*/). For optional entities (crm/owner_directory), whose
    source read would fail on an empty glob. True while parsing, so the model's source()
    reference is always in the graph.
#}
{% macro lake_entity_landed(source_name, table_name) -%}
    {%- if not execute -%}{{ return(true) }}{%- endif -%}
    {{ return(adapter.dispatch('lake_entity_landed', 'kam')(source_name, table_name)) }}
{%- endmacro %}

{% macro duckdb__lake_entity_landed(source_name, table_name) -%}
    {%- set pattern = env_var('KAM_LAKE_DIR') ~ '/raw/' ~ source_name ~ '/' ~ table_name ~ '/as_of=*/*.parquet' -%}
    {%- set found = run_query("select count(*) from glob('" ~ (pattern | replace("'", "''")) ~ "')") -%}
    {{ return(found.columns[0].values()[0] > 0) }}
{%- endmacro %}

{# Elsewhere (PostgreSQL) the lake is loaded into tables first (kam_transforms.pgwarehouse.lake_load), one per landed entity. #}
{% macro default__lake_entity_landed(source_name, table_name) -%}
    {%- set relation = source(source_name, table_name) -%}
    {%- set found = adapter.get_relation(database=relation.database, schema=relation.schema, identifier=relation.identifier) -%}
    {{ return(found is not none) }}
{%- endmacro %}


{# Digest locale of a language tag: zh-CN for mainland/simplified Chinese spellings, else en (kam_transforms.addresses.normalise_locale). #}
{% macro digest_locale(column) -%}
    case
        when lower(replace(trim({{ column }}), '_', '-')) in ('zh', 'zh-cn', 'zh-hans', 'zh-hans-cn', 'zh-sg', 'cn') then 'zh-CN'
        else 'en'
    end
{%- endmacro %}


{#
    `latest_landed` of an optional lake entity, or, when none of its batches has landed, an
    empty select of its canonical `columns` (text) and the landing columns, so staging
    builds either way.
#}
{% macro latest_landed_optional(source_name, table_name, key_columns, columns) -%}
    {%- if lake_entity_landed(source_name, table_name) -%}
        {{ latest_landed(source_name, table_name, key_columns) }}
    {%- else -%}
        select
        {%- for column in columns %}
            cast(null as {{ dbt.type_string() }}) as {{ column }},
        {%- endfor %}
            cast(null as {{ dbt.type_string() }}) as _batch_id,
            cast(null as {{ dbt.type_timestamp() }}) as _loaded_at,
            cast(null as {{ dbt.type_string() }}) as as_of
        where false
    {%- endif -%}
{%- endmacro %}


{#
    Whether the alerts step has exported any alert history (alert_history/as_of=*/ under the
    lake; kam_transforms.alerts.lifecycle). True while parsing, like lake_entity_landed.
#}
{% macro alert_history_landed() -%}
    {%- if not execute -%}{{ return(true) }}{%- endif -%}
    {{ return(adapter.dispatch('alert_history_landed', 'kam')()) }}
{%- endmacro %}

{% macro default__alert_history_landed() -%}
    {{ return(lake_entity_landed('alert_history', 'alert_lifecycle')) }}
{%- endmacro %}

{% macro duckdb__alert_history_landed() -%}
    {%- set pattern = env_var('KAM_LAKE_DIR') ~ '/alert_history/as_of=*/*.parquet' -%}
    {%- set found = run_query("select count(*) from glob('" ~ (pattern | replace("'", "''")) ~ "')") -%}
    {{ return(found.columns[0].values()[0] > 0) }}
{%- endmacro %}


{#
    The alert history partitions dated before the run date (columns of the export plus
    history_as_of, the partition's date), or an empty select of them before any export.
#}
{% macro alert_history_partitions() -%}
    {%- if alert_history_landed() -%}
        select
            dedup_key,
            customer_id,
            rule_id,
            severity,
            raised_on,
            closed_on,
            {{ landed_partition_date('as_of') }} as history_as_of
        from {{ source('alert_history', 'alert_lifecycle') }}
        where {{ landed_partition_date('as_of') }} < {{ as_of_date() }}
    {%- else -%}
        select
            cast(null as {{ dbt.type_string() }}) as dedup_key,
            cast(null as {{ dbt.type_string() }}) as customer_id,
            cast(null as {{ dbt.type_string() }}) as rule_id,
            cast(null as {{ dbt.type_string() }}) as severity,
            cast(null as date) as raised_on,
            cast(null as date) as closed_on,
            cast(null as date) as history_as_of
        where false
    {%- endif -%}
{%- endmacro %}
