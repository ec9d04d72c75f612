-- One row per key account (class A or is_key_account), product category it buys and horizon
-- of var demand_forecast_horizons_months: its expected purchases (order days) and margin from
-- the CLV model, split by its category mix and trend (预测未来需求).
--   account_expected_orders: the CLV run's expected purchases over the next h months
--     (int_clv_purchase_horizons; for h = clv_horizon_months this is
--     customer_clv.expected_purchases); where the run did not model the account (forecast_basis
--     'run_rate'): order days in the trailing window x h / trailing_months;
--   account_expected_margin: account_expected_orders x customer_clv.expected_avg_margin; on the
--     run rate: trailing gross margin x h / trailing_months;
--   category_weight: category_weight() of the category_mix (macros/economics.sql) normalised to
--     sum 1 per account and horizon; expected_orders / expected_margin = account total x weight.

{%- set months = var('trailing_months') | int %}
{%- set horizons = var('demand_forecast_horizons_months') %}

with

tiers as (

    select * from {{ ref('customer_tiers') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

clv as (

    select * from {{ ref('customer_clv') }}

),

purchase_horizons as (

    select * from {{ ref('int_clv_purchase_horizons') }}

),

order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

mix as (

    {{ category_mix(as_of_date()) }}

),

horizons as (

    select horizon_list.horizon_months
    from (
        values {% for horizon in horizons %}({{ horizon | int }}){{ ', ' if not loop.last }}{% endfor %}  -- noqa: LT05
    ) as horizon_list (horizon_months)

),

key_accounts as (

    select
        tiers.customer_id,
        customers.account_id,
        tiers.abc_class,
        tiers.gross_margin_t12m
    from tiers
    left join customers
        on tiers.customer_id = customers.customer_id
    where {{ is_alert_key_account('tiers') }}

),

purchase_days as (

    select
        customer_id,
        count(distinct order_date) as order_days_t12m
    from order_lines
    where {{ in_window('order_date', as_of_date(), 0, months) }}
    group by customer_id

),

account_totals as (

    select
        key_accounts.customer_id,
        key_accounts.account_id,
        key_accounts.abc_class,
        horizons.horizon_months,
        clv.model_run_id,
        coalesce(clv.is_fallback, true) as is_clv_fallback,
        case when clv.customer_id is null then 'no_clv_row' else clv.fallback_reason end as clv_fallback_reason,
        case when purchase_horizons.expected_purchases is not null then 'clv' else 'run_rate' end
            as forecast_basis,
        coalesce(
            purchase_horizons.expected_purchases,
            coalesce(purchase_days.order_days_t12m, 0) * horizons.horizon_months / {{ months }}.0
        ) as account_expected_orders,
        case
            when purchase_horizons.expected_purchases is not null
                then purchase_horizons.expected_purchases * clv.expected_avg_margin
            else coalesce(key_accounts.gross_margin_t12m, 0) * horizons.horizon_months / {{ months }}.0
        end as account_expected_margin
    from key_accounts
    cross join horizons
    left join clv
        on key_accounts.customer_id = clv.customer_id
    left join purchase_horizons
        on
            key_accounts.customer_id = purchase_horizons.customer_id
            and horizons.horizon_months = purchase_horizons.horizon_months
    left join purchase_days
        on key_accounts.customer_id = purchase_days.customer_id

),

weighted as (

    select
        account_totals.*,
        mix.product_category,
        mix.mix_basis,
        mix.share_t12m,
        mix.share_recent,
        mix.share_earlier,
        mix.share_trend,
        {{ category_weight('account_totals.horizon_months') }} as projected_share
    from account_totals
    inner join mix
        on account_totals.customer_id = mix.customer_id

),

normalised as (

    select
        weighted.*,
        case
            when sum(weighted.projected_share) over (partition by weighted.customer_id, weighted.horizon_months) > 0
                then
                    weighted.projected_share
                    / sum(weighted.projected_share) over (partition by weighted.customer_id, weighted.horizon_months)
            else weighted.share_t12m
        end as category_weight
    from weighted

),

final as (

    select
        customer_id,
        product_category,
        horizon_months,
        {{ as_of_date() }} as as_of_date,
        account_id,
        abc_class,
        forecast_basis,
        model_run_id,
        is_clv_fallback,
        clv_fallback_reason,
        mix_basis,
        share_t12m as category_share_t12m,
        share_recent as category_share_recent,
        share_earlier as category_share_earlier,
        share_trend as category_share_trend,
        category_weight,
        account_expected_orders,
        account_expected_margin,
        account_expected_orders * category_weight as expected_orders,
        account_expected_margin * category_weight as expected_margin
    from normalised

)

select * from final
