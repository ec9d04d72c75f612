{#
    The integers 0 .. 10^digits - 1 as a select with one column `n`, from cross joins of
    a ten-row values list: portable (no generate_series), for month spines.
#}
{% macro numbers(digits=3) -%}
    select
        {%- for i in range(digits) %}
        {{ ' + ' if not loop.first }}digits_{{ i }}.digit * {{ 10 ** i }}
        {%- endfor %} as n
    from
        {%- for i in range(digits) %}
        (
            select 0 as digit union all select 1 union all select 2 union all select 3
            union all select 4 union all select 5 union all select 6 union all select 7
            union all select 8 union all select 9
        ) as digits_{{ i }}{{ ' cross join' if not loop.last }}
        {%- endfor %}
{%- endmacro %}

{#
    A money sum that is the same bits on every read: each value is fixed to 6 decimals
    and summed as a decimal (exact, so independent of the order in which parallel threads
    add rows up), then returned as a double. A float `sum` over many rows is not: its last
    bits depend on the threads' order, and the CLV run id, the ABC ranks and the dedup of
    alerts compare such sums. Portable: DuckDB and PostgreSQL both sum decimal(38, 6) exactly.
#}
{% macro exact_sum(expression) -%}
    cast(sum(cast({{ as_exact_numeric(expression) }} as decimal(38, 6))) as double precision)
{%- endmacro %}

{#
    A number as an exact decimal, for rounding it. DuckDB casts a double to a decimal from its
    binary value; PostgreSQL's float8-to-numeric cast keeps only 15 significant digits, which
    rounds 123.4567894999999 to 123.456790 at 6 decimals (DuckDB: 123.456789). Through its
    shortest exact text (PostgreSQL 12+) the value rounds as on DuckDB.
#}
{% macro as_exact_numeric(expression) -%}
    {{ return(adapter.dispatch('as_exact_numeric', 'kam')(expression)) }}
{%- endmacro %}

{% macro default__as_exact_numeric(expression) -%}
    cast(cast({{ expression }} as {{ dbt.type_string() }}) as numeric)
{%- endmacro %}

{% macro duckdb__as_exact_numeric(expression) -%}
    {{ expression }}
{%- endmacro %}
