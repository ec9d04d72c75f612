{#
    round(expression, digits) as a double on every adapter: PostgreSQL has no
    round(double precision, integer), only round(numeric, integer).
#}
{% macro round_to(expression, digits) -%}
    {{ return(adapter.dispatch('round_to', 'kam')(expression, digits)) }}
{%- endmacro %}

{% macro default__round_to(expression, digits) -%}
    cast(round({{ as_exact_numeric(expression) }}, {{ digits }}) as {{ type_double() }})
{%- endmacro %}

{% macro duckdb__round_to(expression, digits) -%}
    round(cast({{ expression }} as double), {{ digits }})
{%- endmacro %}

{#
    The text of round_to(expression, digits) as DuckDB writes a double ('80.0', '6.7'): for
    alert reasons, which must read the same on every adapter (PostgreSQL writes 80 for 80.0).
#}
{% macro rounded_text(expression, digits) -%}
    {{ return(adapter.dispatch('rounded_text', 'kam')(expression, digits)) }}
{%- endmacro %}

{% macro default__rounded_text(expression, digits) -%}
    {%- if digits | int > 0 -%}
    cast(round({{ as_exact_numeric(expression) }}, {{ digits }}) as {{ dbt.type_string() }})
    {%- else -%}
    (cast(round({{ as_exact_numeric(expression) }}, 0) as {{ dbt.type_string() }}) || '.0')
    {%- endif -%}
{%- endmacro %}

{% macro duckdb__rounded_text(expression, digits) -%}
    cast({{ round_to(expression, digits) }} as {{ dbt.type_string() }})
{%- endmacro %}

{# The text of an expression rounded to an integer ('95'), the same on every adapter. #}
{% macro rounded_integer_text(expression) -%}
    cast(cast({{ round_to(expression, 0) }} as {{ dbt.type_int() }}) as {{ dbt.type_string() }})
{%- endmacro %}
