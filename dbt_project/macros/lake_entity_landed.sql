{#
    Whether any batch of a lake entity has landed (a Parquet file under
    raw/<source>/<entity>/as_of=*/). For optional entities (crm/owner_directory), whose
    source read would fail on an empty glob. True while parsing, so the model's source()
    reference is always in the graph.
#}
{% macro lake_entity_landed(source_name, table_name) -%}
    {%- if not execute -%}{{ return(true) }}{%- endif -%}
    {%- set pattern = env_var('KAM_LAKE_DIR') ~ '/raw/' ~ source_name ~ '/' ~ table_name ~ '/as_of=*/*.parquet' -%}
    {%- set found = run_query("select count(*) from glob('" ~ (pattern | replace("'", "''")) ~ "')") -%}
    {{ return(found.columns[0].values()[0] > 0) }}
{%- endmacro %}


{# Digest locale of a language tag: zh-CN for mainland/simplified Chinese spellings, else en (kam_transforms.addresses.normalise_locale). #}
{% macro digest_locale(column) -%}
    case
        when lower(replace(trim({{ column }}), '_', '-')) in ('zh', 'zh-cn', 'zh-hans', 'zh-hans-cn', 'zh-sg', 'cn') then 'zh-CN'
        else 'en'
    end
{%- endmacro %}
