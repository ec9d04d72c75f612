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
