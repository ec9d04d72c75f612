{{ config(materialized='table') }}

-- One row per ordering customer as of the run date: the loyalty components and the 0-100
-- loyalty index (weights var loyalty_weights, normalised to sum 1). Independent of the ABC
-- class, so customer_tiers can read it; customer_loyalty publishes it.
--   repeat_purchase_score = 100 x months with an order / months of the customer's life in the
--     trailing window (the trailing_months calendar months ending with the run date's month);
--   cross_purchase_score = 100 x categories bought in the trailing window / catalogue categories;
--   tenure_score = 100 x min(1, tenure days / loyalty_full_tenure_days);
--   promoter_score = 100 promoter (latest NPS 9-10), 50 passive (7-8) or no NPS, 0 detractor;
--   price_tolerance_score = 100 x mean of the known parts of: the price index part
--     clamp((price_index - (1 - span)) / (2 span), 0, 1) (span var loyalty_price_index_span),
--     the response part (tolerant 1, sensitive 0, unknown left out) and the discount part
--     1 - min(1, discount share / squeeze_discount_full_share); 50 when no part is known.

{%- set months = var('trailing_months') | int %}
{%- set weights = var('loyalty_weights') %}
{%- set weight_total = weights.values() | sum %}
{%- set span = var('loyalty_price_index_span') %}

with

facts as (

    select * from {{ ref('customer_facts') }}
    where customer_id is not null and first_order_date is not null

),

monthly as (

    select * from {{ ref('fct_customer_monthly') }}

),

price_signals as (

    select * from {{ ref('int_customer_price_signals') }}

),

catalogue as (

    select count(distinct category) as category_count from {{ ref('stg_erp__products') }}

),

trailing_months as (

    select
        customer_id,
        count(*) as life_months_t12m,
        sum(case when is_active then 1 else 0 end) as active_months_t12m
    from monthly
    where month_start_date > {{ date_add_months(-months, as_of_date()) }}
    group by customer_id

),

parts as (

    select
        facts.customer_id,
        facts.first_order_date,
        facts.tenure_days,
        facts.order_count_total,
        coalesce(trailing_months.active_months_t12m, 0) as active_months_t12m,
        coalesce(trailing_months.life_months_t12m, 0) as life_months_t12m,
        facts.distinct_categories_t12m,
        cast(catalogue.category_count as integer) as category_count,
        facts.category_share_t12m,
        cast(facts.latest_nps_score as integer) as latest_nps_score,
        case
            when facts.latest_nps_score is null then 'unknown'
            when facts.latest_nps_score >= 9 then 'promoter'
            when facts.latest_nps_score >= 7 then 'passive'
            else 'detractor'
        end as promoter_status,
        price_signals.price_index_t12m,
        price_signals.price_response,
        price_signals.discount_depth_t12m,
        case
            when price_signals.price_index_t12m is not null
                then
                    least(greatest(
                        (price_signals.price_index_t12m - (1 - {{ span }})) / (2.0 * {{ span }}), 0.0
                    ), 1.0)
        end as price_index_part,
        case price_signals.price_response when 'tolerant' then 1.0 when 'sensitive' then 0.0 end
            as price_response_part,
        case
            when price_signals.discount_depth_t12m is not null
                then
                    1.0 - least(
                        price_signals.discount_depth_t12m / {{ var('squeeze_discount_full_share') }}, 1.0
                    )
        end as discount_part
    from facts
    cross join catalogue
    left join trailing_months
        on facts.customer_id = trailing_months.customer_id
    left join price_signals
        on facts.customer_id = price_signals.customer_id

),

components as (

    select
        parts.*,
        case
            when parts.life_months_t12m > 0
                then {{ as_double('parts.active_months_t12m') }} / parts.life_months_t12m
            else 0.0
        end as repeat_purchase_rate,
        100.0 * case
            when parts.life_months_t12m > 0
                then {{ as_double('parts.active_months_t12m') }} / parts.life_months_t12m
            else 0.0
        end as repeat_purchase_score,
        100.0 * coalesce(parts.category_share_t12m, 0) as cross_purchase_score,
        100.0 * least({{ as_double('parts.tenure_days') }} / {{ var('loyalty_full_tenure_days') }}, 1.0)
            as tenure_score,
        case parts.promoter_status when 'promoter' then 100.0 when 'detractor' then 0.0 else 50.0 end
            as promoter_score,
        case
            when
                parts.price_index_part is null and parts.price_response_part is null
                and parts.discount_part is null
                then 50.0
            else
                100.0 * (
                    coalesce(parts.price_index_part, 0) + coalesce(parts.price_response_part, 0)
                    + coalesce(parts.discount_part, 0)
                ) / (
                    case when parts.price_index_part is null then 0 else 1 end
                    + case when parts.price_response_part is null then 0 else 1 end
                    + case when parts.discount_part is null then 0 else 1 end
                )
        end as price_tolerance_score
    from parts

),

scored as (

    select
        components.*,
        (
            {{ weights.get('repeat_purchase', 0) }} * components.repeat_purchase_score
            + {{ weights.get('cross_purchase', 0) }} * components.cross_purchase_score
            + {{ weights.get('tenure', 0) }} * components.tenure_score
            + {{ weights.get('promoter', 0) }} * components.promoter_score
            + {{ weights.get('price_tolerance', 0) }} * components.price_tolerance_score
        ) / {{ weight_total }} as loyalty_index
    from components

),

final as (

    select
        customer_id,
        first_order_date,
        tenure_days,
        order_count_total,
        cast(active_months_t12m as integer) as active_months_t12m,
        cast(life_months_t12m as integer) as life_months_t12m,
        repeat_purchase_rate,
        distinct_categories_t12m,
        category_count,
        category_share_t12m,
        latest_nps_score,
        promoter_status,
        price_index_t12m,
        price_response,
        discount_depth_t12m,
        {{ round_to('repeat_purchase_score', 2) }} as repeat_purchase_score,
        {{ round_to('cross_purchase_score', 2) }} as cross_purchase_score,
        {{ round_to('tenure_score', 2) }} as tenure_score,
        {{ round_to('promoter_score', 2) }} as promoter_score,
        {{ round_to('price_tolerance_score', 2) }} as price_tolerance_score,
        {{ round_to('loyalty_index', 2) }} as loyalty_index,
        case
            when loyalty_index >= {{ var('loyalty_high_min_index') }} then 'high'
            when loyalty_index >= {{ var('loyalty_medium_min_index') }} then 'medium'
            else 'low'
        end as loyalty_band
    from scored

)

select * from final
