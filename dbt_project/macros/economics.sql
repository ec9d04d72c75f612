{#
    Peer statistics and month arithmetic for the customer-economics marts.

    median(expression): the median as an aggregate (DuckDB median(), elsewhere
    percentile_cont(0.5) within group).

    peer_median_excluding_self(relation, partition_by, key, value): a select over
    `relation` with the partition columns, the key, the value, `peer_count` (the other rows
    of the partition with a value) and `peer_median` (the median of the *other* rows'
    values; null without any). Portable: only row_number/count/max windows. With the n
    values of a partition sorted v_1..v_n and the row's own value at rank r removed, the
    remaining k-th value is v_k for k < r and v_(k+1) from r on; the median of the n - 1
    remaining values is the mean of the remaining values at ranks lo = floor(n/2) and
    hi = floor((n-1)/2) + 1, so only v_lo, v_(lo+1) and v_(lo+2) are needed per partition.
#}

{% macro median(expression) -%}
    {{ return(adapter.dispatch('median', 'kam')(expression)) }}
{%- endmacro %}

{% macro default__median(expression) -%}
    percentile_cont(0.5) within group (order by {{ expression }})
{%- endmacro %}

{% macro duckdb__median(expression) -%}
    median({{ expression }})
{%- endmacro %}

{% macro peer_median_excluding_self(relation, partition_by, key, value) -%}
    {%- set partition = partition_by | join(', ') %}
    select
        {{ partition }},
        {{ key }},
        peer_value,
        group_size - 1 as peer_count,
        case
            when group_size > 1
                then (
                    case when lo_rank < value_rank then v_lo else v_lo_next end
                    + case
                        when hi_rank < value_rank then case when hi_rank = lo_rank then v_lo else v_lo_next end
                        else case when hi_rank = lo_rank then v_lo_next else v_lo_after_next end
                    end
                ) / 2.0
        end as peer_median
    from (
        select
            positioned.*,
            max(case when value_rank = lo_rank then peer_value end) over (partition by {{ partition }}) as v_lo,
            max(case when value_rank = lo_rank + 1 then peer_value end) over (partition by {{ partition }})
                as v_lo_next,
            max(case when value_rank = lo_rank + 2 then peer_value end) over (partition by {{ partition }})
                as v_lo_after_next
        from (
            select
                ranked.*,
                cast(floor(ranked.group_size / 2.0) as integer) as lo_rank,
                cast(floor((ranked.group_size - 1) / 2.0) as integer) + 1 as hi_rank
            from (
                select
                    {{ partition }},
                    {{ key }},
                    {{ value }} as peer_value,
                    row_number() over (partition by {{ partition }} order by {{ value }}, {{ key }}) as value_rank,
                    count(*) over (partition by {{ partition }}) as group_size
                from {{ relation }}
                where {{ value }} is not null
            ) as ranked
        ) as positioned
    ) as order_stats
{%- endmacro %}

{# Months since year 0 as an integer (year * 12 + month): consecutive months differ by 1. #}
{% macro month_index(date_expression) -%}
    cast(extract(year from {{ date_expression }}) * 12 + extract(month from {{ date_expression }}) as integer)
{%- endmacro %}

{#
    category_mix(end_date): one row per customer and product category with the customer's
    revenue mix in the trailing_months months ending on end_date (a SQL date expression) and
    its trend: share_t12m (category revenue / all revenue in the window), share_recent and
    share_earlier (the same in the later and the earlier half of the window; null when that
    half has no revenue) and share_trend = share_recent - share_earlier (0 unless both halves
    have revenue). A customer without revenue in the window gets its lifetime mix up to
    end_date and no trend (mix_basis 'lifetime', else 'trailing').
#}
{% macro category_mix(end_date) -%}
    {%- set months = var('trailing_months') | int %}
    {%- set half = (months / 2) | int %}
    select
        customer_id,
        product_category,
        case when window_revenue > 0 then 'trailing' else 'lifetime' end as mix_basis,
        case
            when window_revenue > 0 then category_window_revenue / window_revenue
            else category_lifetime_revenue / lifetime_revenue
        end as share_t12m,
        case when recent_revenue > 0 then category_recent_revenue / recent_revenue end as share_recent,
        case when earlier_revenue > 0 then category_earlier_revenue / earlier_revenue end as share_earlier,
        case
            when window_revenue > 0 and recent_revenue > 0 and earlier_revenue > 0
                then category_recent_revenue / recent_revenue - category_earlier_revenue / earlier_revenue
            else 0.0
        end as share_trend
    from (
        select
            category_revenue.*,
            sum(category_window_revenue) over (partition by customer_id) as window_revenue,
            sum(category_recent_revenue) over (partition by customer_id) as recent_revenue,
            sum(category_earlier_revenue) over (partition by customer_id) as earlier_revenue,
            sum(category_lifetime_revenue) over (partition by customer_id) as lifetime_revenue
        from (
            select
                customer_id,
                coalesce(product_category, '(none)') as product_category,
                sum(
                    case when {{ in_window('order_date', end_date, 0, months) }} then revenue_base else 0 end
                ) as category_window_revenue,
                sum(
                    case when {{ in_window('order_date', end_date, 0, half) }} then revenue_base else 0 end
                ) as category_recent_revenue,
                sum(
                    case when {{ in_window('order_date', end_date, half, months) }} then revenue_base else 0 end
                ) as category_earlier_revenue,
                sum(revenue_base) as category_lifetime_revenue
            from {{ ref('fct_order_lines') }}
            where order_date <= {{ end_date }}
            group by customer_id, coalesce(product_category, '(none)')
        ) as category_revenue
    ) as category_totals
    where
        (window_revenue > 0 and category_window_revenue > 0)
        or (not window_revenue > 0 and lifetime_revenue > 0 and category_lifetime_revenue > 0)
{%- endmacro %}

{#
    category_weight(horizon_months): the projected category share of a category_mix row for a
    forecast window of horizon_months months after its end date, before normalisation:
    greatest(0, share_t12m + demand_forecast_trend_weight x share_trend x (half + h/2) / half),
    half = trailing_months / 2: the trend per half window, carried from the middle of the
    trailing window (half months back) to the middle of the forecast window (h/2 ahead).
#}
{% macro category_weight(horizon_months, mix='mix') -%}
    {%- set half = ((var('trailing_months') | int) / 2) | int %}
    greatest(
        0.0,
        {{ mix }}.share_t12m + {{ var('demand_forecast_trend_weight') }} * {{ mix }}.share_trend
        * ({{ half }} + {{ horizon_months }} / 2.0) / {{ half }}
    )
{%- endmacro %}
