-- One row per order line of the non-cancelled orders placed on or before the run date,
-- with money in the order currency and converted to the base currency.

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
        '{{ var("base_currency") }}' as base_currency,
        order_lines.revenue_base,
        order_lines.cost_base,
        order_lines.gross_margin_base
    from order_lines
    left join customers
        on order_lines.customer_id = customers.customer_id

)

select * from final
