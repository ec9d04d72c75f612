{#
    Dialect-specific text helpers for alert reasons and evidence; DuckDB and PostgreSQL.
#}

{# A number rounded to a whole and grouped in thousands: 1234567.8 -> '1,234,568'. #}
{% macro format_thousands(expression) -%}
    {{ return(adapter.dispatch('format_thousands', 'kam')(expression)) }}
{%- endmacro %}

{% macro default__format_thousands(expression) -%}
    trim(to_char(round(cast({{ expression }} as numeric), 0), 'FM999,999,999,999,990'))
{%- endmacro %}

{% macro duckdb__format_thousands(expression) -%}
    format('{:,.0f}', round(cast({{ expression }} as double), 0))
{%- endmacro %}

{#
    A JSON object as text from a list of (key, sql expression) pairs; null values stay
    JSON null, numbers stay numbers.
#}
{% macro json_object_text(pairs) -%}
    {{ return(adapter.dispatch('json_object_text', 'kam')(pairs)) }}
{%- endmacro %}

{% macro default__json_object_text(pairs) -%}
    cast(json_build_object(
        {%- for key, expression in pairs %}
        '{{ key }}', {{ expression }}{{ ',' if not loop.last }}
        {%- endfor %}
    ) as {{ dbt.type_string() }})
{%- endmacro %}

{% macro duckdb__json_object_text(pairs) -%}
    cast(json_object(
        {%- for key, expression in pairs %}
        '{{ key }}', {{ expression }}{{ ',' if not loop.last }}
        {%- endfor %}
    ) as {{ dbt.type_string() }})
{%- endmacro %}
