-- One row per ordering customer as of the run date: price tolerance (价格忍耐力) and squeeze
-- (客大欺店). The price index, discount depth, price response and squeeze score come from
-- int_customer_price_signals (formulas there and in _marts__economics.yml); this mart adds:
--   peer_margin_rate_median: median trailing gross margin rate of the *other* customers of the
--     same ABC class and industry (null industry is its own group);
--   margin_rate_vs_peer = gross_margin_rate_t12m - peer_margin_rate_median;
--   is_large_account: trailing revenue at or above the
--     squeeze_large_account_min_revenue_percentile percentile (percent_rank) of all customers;
--   is_large_account_squeezing: large and squeeze_score >= squeeze_min_score.

with

signals as (

    select * from {{ ref('int_customer_price_signals') }}

),

tiers as (

    select * from {{ ref('customer_tiers') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

facts as (

    select * from {{ ref('customer_facts') }}
    where customer_id is not null

),

grouped as (

    select
        signals.customer_id,
        tiers.abc_class,
        customers.industry,
        coalesce(customers.industry, '(none)') as industry_group,
        facts.gross_margin_rate_t12m
    from signals
    left join tiers
        on signals.customer_id = tiers.customer_id
    left join customers
        on signals.customer_id = customers.customer_id
    left join facts
        on signals.customer_id = facts.customer_id

),

peer_margins as (

    {{ peer_median_excluding_self('grouped', ['abc_class', 'industry_group'], 'customer_id',
        'gross_margin_rate_t12m') }}

),

ranked as (

    select
        signals.*,
        grouped.abc_class,
        grouped.industry,
        grouped.gross_margin_rate_t12m,
        peer_margins.peer_median as peer_margin_rate_median,
        coalesce(peer_margins.peer_count, 0) as peer_margin_group_size,
        percent_rank() over (order by signals.revenue_t12m) as revenue_percentile
    from signals
    inner join grouped
        on signals.customer_id = grouped.customer_id
    left join peer_margins
        on signals.customer_id = peer_margins.customer_id

),

final as (

    select
        customer_id,
        {{ as_of_date() }} as as_of_date,
        abc_class,
        industry,
        revenue_t12m,
        gross_margin_t12m,
        priced_product_months,
        priced_revenue_base,
        price_index_t12m,
        discount_depth_t12m,
        gross_margin_rate_t12m,
        peer_margin_rate_median,
        cast(peer_margin_group_size as integer) as peer_margin_group_size,
        gross_margin_rate_t12m - peer_margin_rate_median as margin_rate_vs_peer,
        price_rise_events,
        average_price_rise_share,
        average_quantity_change_share,
        price_response,
        invoices_late_share_t12m,
        average_days_paid_late_t12m,
        cost_to_serve_t12m,
        cost_to_serve_margin_share,
        discount_depth_component,
        payment_lateness_component,
        cost_to_serve_component,
        squeeze_score,
        revenue_percentile,
        revenue_percentile >= {{ var('squeeze_large_account_min_revenue_percentile') }} and revenue_t12m > 0
            as is_large_account,
        revenue_percentile >= {{ var('squeeze_large_account_min_revenue_percentile') }} and revenue_t12m > 0
        and squeeze_score >= {{ var('squeeze_min_score') }} as is_large_account_squeezing
    from ranked

)

select * from final
