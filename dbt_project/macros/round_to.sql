{#
    round(expression, digits) as a double on every adapter: PostgreSQL has no
    round(double precision, integer), only round(numeric, integer).
#}
{% macro round_to(expression, digits) -%}
    {{ return(adapter.dispatch('round_to', 'kam')(expression, digits)) }}
{%- endmacro %}

{% macro default__round_to(expression, digits) -%}
    cast(round(cast({{ expression }} as numeric), {{ digits }}) as {{ type_double() }})
{%- endmacro %}

{% macro duckdb__round_to(expression, digits) -%}
    round(cast({{ expression }} as double), {{ digits }})
{%- endmacro %}
