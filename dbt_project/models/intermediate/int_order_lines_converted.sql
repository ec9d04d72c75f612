{{ config(materialized='table') }}

-- Order lines of non-cancelled orders placed on or before the run date, with revenue,
-- cost and gross margin converted to the base currency at the rate of the order date, and
-- the date of that rate (null for the base currency). Lines of orders whose customer is
-- not in the ERP are kept here; fct_order_lines leaves them to data_quality_issues.

with

orders as (

    select * from {{ ref('stg_erp__orders') }}

),

order_lines as (

    select * from {{ ref('stg_erp__order_lines') }}

),

products as (

    select * from {{ ref('stg_erp__products') }}

),

fx_rates as (

    select * from {{ ref('int_fx_rates_ranged') }}

),

valid_orders as (

    select
        order_id,
        customer_id,
        order_date,
        coalesce(currency, '{{ var("base_currency") }}') as currency,
        status
    from orders
    where
        order_date <= {{ as_of_date() }}
        and coalesce(status, '') not in ({{ "'" ~ (var('cancelled_order_statuses') | join("', '")) ~ "'" }})

),

lines_with_orders as (

    select
        order_lines.order_line_id,
        order_lines.order_id,
        valid_orders.customer_id,
        valid_orders.order_date,
        order_lines.product_id,
        products.category as product_category,
        order_lines.quantity,
        order_lines.unit_price,
        coalesce(order_lines.discount_pct, 0) as discount_pct,
        -- the line's cost is in the order currency; without it the product's standard cost,
        -- in the product currency
        coalesce(order_lines.unit_cost, products.unit_cost) as unit_cost,
        valid_orders.currency,
        case
            when order_lines.unit_cost is not null then valid_orders.currency
            else coalesce(products.currency, valid_orders.currency)
        end as cost_currency
    from order_lines
    inner join valid_orders
        on order_lines.order_id = valid_orders.order_id
    left join products
        on order_lines.product_id = products.product_id

),

converted as (

    select
        lines_with_orders.*,
        case
            when lines_with_orders.currency = '{{ var("base_currency") }}' then 1.0
            else price_rates.rate_to_base
        end as fx_rate_to_base,
        case
            when lines_with_orders.currency <> '{{ var("base_currency") }}' then price_rates.rate_date
        end as fx_rate_date,
        case
            when lines_with_orders.cost_currency = '{{ var("base_currency") }}' then 1.0
            else cost_rates.rate_to_base
        end as cost_fx_rate_to_base
    from lines_with_orders
    {{ fx_rate_join('fx_rates', 'price_rates', 'lines_with_orders.currency', 'lines_with_orders.order_date') }}
    {{ fx_rate_join('fx_rates', 'cost_rates', 'lines_with_orders.cost_currency', 'lines_with_orders.order_date') }}

),

final as (

    select
        order_line_id,
        order_id,
        customer_id,
        order_date,
        product_id,
        product_category,
        quantity,
        unit_price,
        discount_pct,
        unit_cost,
        currency,
        fx_rate_to_base,
        fx_rate_date,
        quantity * unit_price * (1 - discount_pct) * fx_rate_to_base as revenue_base,
        quantity * unit_cost * cost_fx_rate_to_base as cost_base,
        quantity * unit_price * (1 - discount_pct) * fx_rate_to_base
        - quantity * unit_cost * cost_fx_rate_to_base as gross_margin_base
    from converted

)

select * from final
