{{ config(materialized='table') }}

-- One row per ERP customer (orders of a customer id not in the ERP are not counted here:
-- data_quality_issues lists them) with revenue and gross margin in base currency over the
-- run's date windows, all (start, end]:
--   trailing:  the `trailing_months` months ending on as_of_date
--   prior:     the `trailing_months` months before the trailing window
--   previous:  the `trailing_months` months ending `tier_comparison_days` before as_of_date
--              (what the previous ABC class is computed on)
--   previous prior: the `trailing_months` months before the previous window

{%- set months = var('trailing_months') | int %}

with

customers as (

    select customer_id from {{ ref('stg_erp__customers') }}

),

order_lines as (

    select * from {{ ref('int_order_lines_converted') }}

),

windowed_lines as (

    select
        customer_id,
        revenue_base,
        gross_margin_base,
        {{ in_window('order_date', as_of_date(), 0, months) }} as is_trailing,
        {{ in_window('order_date', as_of_date(), months, 2 * months) }} as is_prior,
        {{ in_window('order_date', tier_comparison_date(), 0, months) }} as is_previous,
        {{ in_window('order_date', tier_comparison_date(), months, 2 * months) }} as is_previous_prior
    from order_lines
    where order_date > {{ date_add_months(-2 * months, tier_comparison_date()) }}

),

aggregated as (

    select
        customer_id,
        {{ exact_sum('case when is_trailing then revenue_base else 0 end') }} as revenue_t12m,
        {{ exact_sum('case when is_trailing then gross_margin_base else 0 end') }} as gross_margin_t12m,
        {{ exact_sum('case when is_prior then revenue_base else 0 end') }} as revenue_prior_12m,
        {{ exact_sum('case when is_prior then gross_margin_base else 0 end') }} as gross_margin_prior_12m,
        {{ exact_sum('case when is_previous then revenue_base else 0 end') }} as previous_revenue_t12m,
        {{ exact_sum('case when is_previous then gross_margin_base else 0 end') }} as previous_gross_margin_t12m,
        {{ exact_sum('case when is_previous_prior then revenue_base else 0 end') }} as previous_revenue_prior_12m
    from windowed_lines
    group by customer_id

),

final as (

    select
        customers.customer_id,
        coalesce(aggregated.revenue_t12m, 0) as revenue_t12m,
        coalesce(aggregated.gross_margin_t12m, 0) as gross_margin_t12m,
        coalesce(aggregated.revenue_prior_12m, 0) as revenue_prior_12m,
        coalesce(aggregated.gross_margin_prior_12m, 0) as gross_margin_prior_12m,
        coalesce(aggregated.previous_revenue_t12m, 0) as previous_revenue_t12m,
        coalesce(aggregated.previous_gross_margin_t12m, 0) as previous_gross_margin_t12m,
        coalesce(aggregated.previous_revenue_prior_12m, 0) as previous_revenue_prior_12m
    from customers
    left join aggregated
        on customers.customer_id = aggregated.customer_id

)

select * from final
