{#
    Casts from the landed strings, used only in staging. Empty strings are nulls (CSV
    exports write missing values as empty fields). Plain SQL that DuckDB and PostgreSQL
    both accept.
#}

{% macro landed_text(column) -%}
    nullif(trim(cast({{ column }} as {{ dbt.type_string() }})), '')
{%- endmacro %}

{% macro landed_date(column) -%}
    cast(left({{ landed_text(column) }}, 10) as date)
{%- endmacro %}

{# ISO-8601 UTC ('2026-01-31T09:15:00Z'): the trailing zone designator is dropped, values stay UTC. #}
{% macro landed_timestamp(column) -%}
    cast(replace(replace({{ landed_text(column) }}, 'T', ' '), 'Z', '') as {{ dbt.type_timestamp() }})
{%- endmacro %}

{% macro landed_double(column) -%}
    cast({{ landed_text(column) }} as {{ type_double() }})
{%- endmacro %}

{% macro landed_integer(column) -%}
    cast(cast({{ landed_text(column) }} as {{ type_double() }}) as {{ dbt.type_int() }})
{%- endmacro %}

{% macro landed_boolean(column) -%}
    case
        when lower({{ landed_text(column) }}) in ('true', 't', '1', 'yes', 'y') then true
        when lower({{ landed_text(column) }}) in ('false', 'f', '0', 'no', 'n') then false
    end
{%- endmacro %}

{# Double-precision floating point: DuckDB's `float` is single precision, so dbt.type_float() is not used. #}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'kam')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double precision
{%- endmacro %}

{% macro duckdb__type_double() -%}
    double
{%- endmacro %}

{# An expression as a double (PostgreSQL divides integers and numeric literals exactly, in numeric). #}
{% macro as_double(expression) -%}
    cast({{ expression }} as {{ type_double() }})
{%- endmacro %}
