{{ config(materialized='table') }}

-- One row per ordering customer as of the run date: what it pays against its peers, how its
-- quantities answered its own price rises, and the squeeze score (客大欺店) from discount
-- depth, payment lateness and cost to serve against margin. Independent of the ABC class,
-- so customer_tiers can read it; customer_price_tolerance adds the class-based peer margin.
--   price_index_t12m = sum(revenue) / sum(quantity x peer median net unit price) over the
--     customer's trailing-window product-months that at least price_index_min_peers other
--     customers bought in the same month (net unit price = revenue / quantity, base currency);
--   price-rise event: the customer's net unit price of a product in its order currency rose by
--     >= price_response_min_rise_share against its previous purchase month of that product;
--     quantity_change = quantity of the price_response_window_months months from the rise /
--     quantity of the window_months months before it - 1 (needs a quantity before and a
--     complete window after the rise);
--   price_response = unknown (< price_response_min_events events), sensitive (average
--     quantity_change <= -price_response_sensitive_share) or tolerant;
--   squeeze_score = weighted mean (squeeze_score_weights) of the 0-100 components
--     discount_depth = 100 x min(1, discount share / squeeze_discount_full_share),
--     payment_lateness = 100 x share of invoices due in the window paid late or overdue,
--     cost_to_serve = 100 x min(1, cost to serve / gross margin / squeeze_cost_to_serve_full_share)
--     (100 when there is cost to serve and no positive margin).

{%- set months = var('trailing_months') | int %}
{%- set window_months = var('price_response_window_months') | int %}
{%- set weights = var('squeeze_score_weights') %}
{%- set weight_total = weights.values() | sum %}

with

order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

facts as (

    select * from {{ ref('customer_facts') }}
    where customer_id is not null

),

-- price index against peers -----------------------------------------------------------

product_months as (

    select
        customer_id,
        product_id,
        cast({{ dbt.date_trunc('month', 'order_date') }} as date) as month_start_date,
        sum(quantity) as quantity,
        sum(revenue_base) as revenue_base,
        sum(revenue_base) / sum(quantity) as net_unit_price_base
    from order_lines
    where {{ in_window('order_date', as_of_date(), 0, months) }} and quantity > 0
    group by customer_id, product_id, cast({{ dbt.date_trunc('month', 'order_date') }} as date)

),

peer_prices as (

    {{ peer_median_excluding_self('product_months', ['product_id', 'month_start_date'], 'customer_id',
        'net_unit_price_base') }}

),

priced as (

    select
        product_months.customer_id,
        product_months.quantity,
        product_months.revenue_base,
        peer_prices.peer_median
    from product_months
    inner join peer_prices
        on
            product_months.customer_id = peer_prices.customer_id
            and product_months.product_id = peer_prices.product_id
            and product_months.month_start_date = peer_prices.month_start_date
    where peer_prices.peer_count >= {{ var('price_index_min_peers') }}

),

price_index as (

    select
        customer_id,
        count(*) as priced_product_months,
        sum(revenue_base) as priced_revenue_base,
        sum(quantity * peer_median) as peer_value_base
    from priced
    group by customer_id

),

-- price response from the customer's own history ----------------------------------------

local_months as (

    select
        customer_id,
        product_id,
        currency,
        {{ month_index('order_date') }} as month_index,
        sum(quantity) as quantity,
        sum(quantity * unit_price * (1 - discount_pct)) / sum(quantity) as net_unit_price
    from order_lines
    where quantity > 0 and cast({{ dbt.last_day('order_date', 'month') }} as date) <= {{ as_of_date() }}
    group by customer_id, product_id, currency, {{ month_index('order_date') }}

),

local_windows as (

    select
        local_months.*,
        lag(local_months.net_unit_price) over (
            partition by local_months.customer_id, local_months.product_id, local_months.currency
            order by local_months.month_index
        ) as previous_net_unit_price,
        sum(local_months.quantity) over (
            partition by local_months.customer_id, local_months.product_id, local_months.currency
            order by local_months.month_index
            range between {{ window_months }} preceding and 1 preceding
        ) as quantity_before,
        sum(local_months.quantity) over (
            partition by local_months.customer_id, local_months.product_id, local_months.currency
            order by local_months.month_index
            range between current row and {{ window_months - 1 }} following
        ) as quantity_after
    from local_months

),

price_rises as (

    select
        customer_id,
        net_unit_price / previous_net_unit_price - 1 as price_change_share,
        {{ as_double('quantity_after') }} / quantity_before - 1 as quantity_change_share
    from local_windows
    where
        previous_net_unit_price > 0
        and net_unit_price / previous_net_unit_price - 1 >= {{ var('price_response_min_rise_share') }}
        and quantity_before > 0
        -- the window after the rise lies in complete months before the run date
        and month_index + {{ window_months - 1 }}
        < {{ month_index(as_of_date()) }}
        + case
            when cast({{ dbt.last_day(as_of_date(), 'month') }} as date) = {{ as_of_date() }} then 1 else 0
        end

),

price_response as (

    select
        customer_id,
        count(*) as price_rise_events,
        avg(price_change_share) as average_price_rise_share,
        avg(quantity_change_share) as average_quantity_change_share
    from price_rises
    group by customer_id

),

-- squeeze --------------------------------------------------------------------------------

components as (

    select
        facts.customer_id,
        facts.revenue_t12m,
        facts.gross_margin_t12m,
        facts.average_discount_share_t12m as discount_depth_t12m,
        facts.invoices_late_share_t12m,
        facts.average_days_paid_late_t12m,
        facts.cost_to_serve_t12m,
        case
            when facts.gross_margin_t12m > 0 then facts.cost_to_serve_t12m / facts.gross_margin_t12m
        end as cost_to_serve_margin_share,
        price_index.priced_product_months,
        price_index.priced_revenue_base,
        case
            when price_index.peer_value_base > 0 then price_index.priced_revenue_base / price_index.peer_value_base
        end as price_index_t12m,
        coalesce(price_response.price_rise_events, 0) as price_rise_events,
        price_response.average_price_rise_share,
        price_response.average_quantity_change_share,
        100.0 * least(
            coalesce(facts.average_discount_share_t12m, 0) / {{ var('squeeze_discount_full_share') }}, 1.0
        ) as discount_depth_component,
        100.0 * coalesce(facts.invoices_late_share_t12m, 0) as payment_lateness_component,
        case
            when facts.gross_margin_t12m > 0
                then
                    100.0 * least(
                        facts.cost_to_serve_t12m / facts.gross_margin_t12m
                        / {{ var('squeeze_cost_to_serve_full_share') }},
                        1.0
                    )
            when facts.cost_to_serve_t12m > 0 then 100.0
            else 0.0
        end as cost_to_serve_component
    from facts
    left join price_index
        on facts.customer_id = price_index.customer_id
    left join price_response
        on facts.customer_id = price_response.customer_id
    where facts.first_order_date is not null

),

final as (

    select
        customer_id,
        revenue_t12m,
        gross_margin_t12m,
        cast(coalesce(priced_product_months, 0) as integer) as priced_product_months,
        coalesce(priced_revenue_base, 0) as priced_revenue_base,
        price_index_t12m,
        discount_depth_t12m,
        cast(price_rise_events as integer) as price_rise_events,
        average_price_rise_share,
        average_quantity_change_share,
        case
            when price_rise_events < {{ var('price_response_min_events') }} then 'unknown'
            when average_quantity_change_share <= -1.0 * ({{ var('price_response_sensitive_share') }})
                then 'sensitive'
            else 'tolerant'
        end as price_response,
        invoices_late_share_t12m,
        average_days_paid_late_t12m,
        cost_to_serve_t12m,
        cost_to_serve_margin_share,
        {{ round_to('discount_depth_component', 2) }} as discount_depth_component,
        {{ round_to('payment_lateness_component', 2) }} as payment_lateness_component,
        {{ round_to('cost_to_serve_component', 2) }} as cost_to_serve_component,
        {{ round_to(
            '(' ~ weights.get('discount_depth', 0) ~ ' * discount_depth_component + '
            ~ weights.get('payment_lateness', 0) ~ ' * payment_lateness_component + '
            ~ weights.get('cost_to_serve', 0) ~ ' * cost_to_serve_component) / ' ~ weight_total,
            2) }} as squeeze_score
    from components

)

select * from final
