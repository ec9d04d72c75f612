-- One row per order line of the non-cancelled orders placed on or before the run date,
-- with money in the order currency and converted to the base currency. Lines of orders
-- whose customer is not in the ERP are not here: data_quality_issues lists them with their
-- revenue. A line converted at a rate more than var fx_max_rate_age_days days from its
-- order date is flagged stale (and data_quality_issues lists the rate).

{%- set max_age = var('fx_max_rate_age_days') | int %}

with

order_lines as (

    select * from {{ ref('int_order_lines_converted') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

final as (

    select
        order_lines.order_line_id,
        order_lines.order_id,
        order_lines.order_date,
        order_lines.customer_id,
        customers.account_id,
        order_lines.product_id,
        order_lines.product_category,
        order_lines.quantity,
        order_lines.unit_price,
        order_lines.discount_pct,
        order_lines.unit_cost,
        order_lines.currency,
        order_lines.fx_rate_to_base,
        order_lines.fx_rate_date,
        cast(abs({{ dbt.datediff('order_lines.fx_rate_date', 'order_lines.order_date', 'day') }}) as integer)
            as fx_rate_age_days,
        coalesce(
            abs({{ dbt.datediff('order_lines.fx_rate_date', 'order_lines.order_date', 'day') }}) > {{ max_age }}, false
        ) as is_fx_rate_stale,
        '{{ var("base_currency") }}' as base_currency,
        order_lines.revenue_base,
        order_lines.cost_base,
        order_lines.gross_margin_base
    from order_lines
    inner join customers
        on order_lines.customer_id = customers.customer_id

)

select * from final
