-- The demand forecast's category split checked on the CLV holdout (var clv_holdout_weeks; no
-- rows when 0): one row per key account (as of the run date) and category it bought before
-- the calibration cutoff (as_of - clv_holdout_weeks weeks) or in the holdout after it.
--   predicted_share: the category weight the forecast gives with the data up to the cutoff
--     (category_mix at the cutoff, category_weight for the holdout length in months,
--     normalised per account); mix_share: the same without the trend (share_t12m, normalised);
--   actual_share: the category's share of the account's revenue in (cutoff, as_of];
--   share_error = predicted_share - actual_share. Accounts without revenue in the holdout
--   have no actual split and are left out.

{%- set holdout_weeks = var('clv_holdout_weeks') | int %}
{%- set holdout_months = holdout_weeks * 7 / (365.25 / 12) %}
{%- set cutoff = date_add_days(-7 * holdout_weeks, as_of_date()) %}

with

tiers as (

    select * from {{ ref('customer_tiers') }}

),

order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

mix as (

    {{ category_mix(cutoff) }}

),

key_accounts as (

    select tiers.customer_id
    from tiers
    where {{ is_alert_key_account('tiers') }} and {{ holdout_weeks }} > 0

),

predicted as (

    select
        mix.customer_id,
        mix.product_category,
        {{ category_weight(holdout_months) }} as projected_share,
        mix.share_t12m
    from mix
    inner join key_accounts
        on mix.customer_id = key_accounts.customer_id

),

predicted_normalised as (

    select
        customer_id,
        product_category,
        case
            when sum(projected_share) over (partition by customer_id) > 0
                then projected_share / sum(projected_share) over (partition by customer_id)
            else share_t12m
        end as predicted_share,
        share_t12m / sum(share_t12m) over (partition by customer_id) as mix_share
    from predicted

),

actual as (

    select
        order_lines.customer_id,
        coalesce(order_lines.product_category, '(none)') as product_category,
        sum(order_lines.revenue_base) as actual_revenue_base,
        sum(order_lines.gross_margin_base) as actual_margin_base,
        count(distinct order_lines.order_date) as actual_order_days
    from order_lines
    inner join key_accounts
        on order_lines.customer_id = key_accounts.customer_id
    where order_lines.order_date > {{ cutoff }} and order_lines.order_date <= {{ as_of_date() }}
    group by order_lines.customer_id, coalesce(order_lines.product_category, '(none)')

),

combined as (

    select
        coalesce(predicted_normalised.customer_id, actual.customer_id) as customer_id,
        coalesce(predicted_normalised.product_category, actual.product_category) as product_category,
        coalesce(predicted_normalised.predicted_share, 0) as predicted_share,
        coalesce(predicted_normalised.mix_share, 0) as mix_share,
        coalesce(actual.actual_revenue_base, 0) as actual_revenue_base,
        coalesce(actual.actual_margin_base, 0) as actual_margin_base,
        coalesce(actual.actual_order_days, 0) as actual_order_days
    from predicted_normalised
    full outer join actual
        on
            predicted_normalised.customer_id = actual.customer_id
            and predicted_normalised.product_category = actual.product_category

),

with_totals as (

    select
        combined.*,
        sum(combined.actual_revenue_base) over (partition by combined.customer_id) as account_actual_revenue_base
    from combined

),

final as (

    select
        customer_id,
        product_category,
        {{ as_of_date() }} as as_of_date,
        {{ cutoff }} as calibration_cutoff_date,
        cast({{ holdout_months }} as {{ type_double() }}) as holdout_months,
        predicted_share,
        mix_share,
        actual_revenue_base,
        actual_margin_base,
        cast(actual_order_days as integer) as actual_order_days,
        actual_revenue_base / account_actual_revenue_base as actual_share,
        predicted_share - actual_revenue_base / account_actual_revenue_base as share_error
    from with_totals
    where account_actual_revenue_base > 0

)

select * from final
