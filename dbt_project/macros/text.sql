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

{#
    The evidence of an alert as JSON object text: every item is a typed value,
    {"<key>": {"value": <v>, "unit": "<unit>"[, "currency": "<ISO code>" | "domain": "<d>"]}}.
    items: a list of (key, sql expression, unit) or (key, sql expression, unit, sql expression
    of the currency (unit money) or of the code domain (unit code)). Units, as the digest
    renders them (kam_transforms/alerts/catalogue.py):
      money (a currency is required), count, number, days, date (ISO text), share (a fraction,
      shown as a percentage), score (0-100), ratio (times), flag (boolean), id (an identifier
      or class letter, shown as is), text (free text from a source: names, roles, categories),
      code (a value of a known vocabulary, translated per locale; domain names it).
#}
{% macro evidence_json(items) -%}
    {{ return(adapter.dispatch('evidence_json', 'kam')(items)) }}
{%- endmacro %}

{% macro _evidence_item_args(item) -%}
    'value', {{ item[1] }}, 'unit', '{{ item[2] }}'
    {%- if item | length > 3 %}, '{{ "currency" if item[2] == "money" else "domain" }}', {{ item[3] }}{% endif %}
{%- endmacro %}

{% macro default__evidence_json(items) -%}
    cast(json_build_object(
        {%- for item in items %}
        '{{ item[0] }}', json_build_object({{ kam._evidence_item_args(item) }}){{ ',' if not loop.last }}
        {%- endfor %}
    ) as {{ dbt.type_string() }})
{%- endmacro %}

{% macro duckdb__evidence_json(items) -%}
    cast(json_object(
        {%- for item in items %}
        '{{ item[0] }}', json_object({{ kam._evidence_item_args(item) }}){{ ',' if not loop.last }}
        {%- endfor %}
    ) as {{ dbt.type_string() }})
{%- endmacro %}

{# Whether the text matches the regular expression anywhere (a search, not a full match). #}
{% macro regex_matches(expression, pattern) -%}
    {{ return(adapter.dispatch('regex_matches', 'kam')(expression, pattern)) }}
{%- endmacro %}

{% macro default__regex_matches(expression, pattern) -%}
    ({{ expression }} ~ {{ pattern }})
{%- endmacro %}

{% macro duckdb__regex_matches(expression, pattern) -%}
    regexp_matches({{ expression }}, {{ pattern }})
{%- endmacro %}
