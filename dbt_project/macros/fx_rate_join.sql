{#
    Left join of the rate that applies to a date from int_fx_rates_ranged (`rates`: its
    CTE name), whose ranges [valid_from_date, valid_to_date) of a currency are contiguous
    from 1900-01-01 to 9999-12-31. On DuckDB an ASOF join on valid_from_date (the latest
    range starting on or before the date: the same row, 2.7x faster than the range join,
    issue 16); elsewhere the range join.
#}
{% macro fx_rate_join(rates, alias, currency_column, date_column) -%}
    {{ return(adapter.dispatch('fx_rate_join', 'kam')(rates, alias, currency_column, date_column)) }}
{%- endmacro %}

{% macro default__fx_rate_join(rates, alias, currency_column, date_column) -%}
    left join {{ rates }} as {{ alias }}
        on
            {{ currency_column }} = {{ alias }}.currency
            and {{ date_column }} >= {{ alias }}.valid_from_date
            and {{ date_column }} < {{ alias }}.valid_to_date
{%- endmacro %}

{% macro duckdb__fx_rate_join(rates, alias, currency_column, date_column) -%}
    asof left join {{ rates }} as {{ alias }}
        on
            {{ currency_column }} = {{ alias }}.currency
            and {{ date_column }} >= {{ alias }}.valid_from_date
{%- endmacro %}
