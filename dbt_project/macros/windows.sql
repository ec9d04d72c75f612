{#
    Date windows of the run, all half-open on the left: (start, end].

    trailing_window_start(end_date, months): the exclusive start of the `months`-month
    window ending (inclusively) on end_date, e.g. (2025-10-31, 2026-10-31] for 12 months.
#}

{% macro date_add_days(days, date_expression) -%}
    cast({{ dbt.dateadd('day', days, date_expression) }} as date)
{%- endmacro %}

{% macro date_add_months(months, date_expression) -%}
    cast({{ dbt.dateadd('month', months, date_expression) }} as date)
{%- endmacro %}

{# The end of the window the previous ABC class is computed on. #}
{% macro tier_comparison_date() -%}
    {{ date_add_days(-1 * (var('tier_comparison_days') | int), as_of_date()) }}
{%- endmacro %}

{% macro in_window(date_column, end_date, months_back_end, months_back_start) -%}
    ({{ date_column }} > {{ date_add_months(-1 * months_back_start, end_date) }}
        and {{ date_column }} <= {{ date_add_months(-1 * months_back_end, end_date) }})
{%- endmacro %}
