-- One row per account plan and run date: revenue and margin to date in the plan's period
-- against its targets (base currency), the attainment expected by now (linear pace, or the
-- account's own seasonality where it has two years of history), the pace gap, a margin
-- forecast at period end (actuals plus the CLV model's expected margin for the rest of the
-- period) and a status. Plus one row per key account without a plan covering the run date
-- (attainment_status no_plan), so a source without plans still says which accounts lack one.

{%- set at_risk_gap = var('plan_at_risk_pace_gap') %}
{%- set behind_gap = var('plan_behind_pace_gap') %}

with

measured as (

    select * from {{ ref('int_account_plans_measured') }}

),

forecasts as (

    select * from {{ ref('int_account_plan_forecasts') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

tiers as (

    select * from {{ ref('customer_tiers') }}

),

paced as (

    select
        measured.*,
        forecasts.rest_expected_margin_base,
        case
            when
                measured.has_two_years_history
                and measured.history_period_revenue_base > 0
                and measured.elapsed_days > 0
                and measured.remaining_days > 0
                then 'seasonal'
            else 'linear'
        end as pace_method,
        case
            when measured.revenue_target_base > 0 then measured.revenue_to_date_base / measured.revenue_target_base
        end as revenue_attainment_share,
        case
            when measured.margin_target_base > 0 then measured.margin_to_date_base / measured.margin_target_base
        end as margin_attainment_share
    from measured
    left join forecasts
        on measured.plan_id = forecasts.plan_id

),

expected as (

    select
        paced.*,
        case
            when paced.pace_method = 'seasonal'
                then paced.history_elapsed_revenue_base / paced.history_period_revenue_base
            else cast(paced.elapsed_days as {{ type_double() }}) / paced.period_days
        end as expected_attainment_share,
        -- pace on revenue; on margin for a plan with a margin target only
        coalesce(paced.revenue_attainment_share, paced.margin_attainment_share) as paced_attainment_share,
        case
            when paced.remaining_days = 0 then 'actual'
            when paced.rest_expected_margin_base is not null then 'clv_model'
            when paced.elapsed_days > 0 then 'run_rate'
        end as forecast_method
    from paced

),

plan_rows as (

    select
        expected.plan_id as plan_key,
        expected.plan_id,
        expected.account_id,
        expected.customer_id,
        customers.account_name,
        coalesce(expected.owner_id, customers.owner_id) as owner_id,
        expected.status as plan_status,
        expected.objective,
        expected.period_start,
        expected.period_end,
        expected.period_days,
        expected.elapsed_days,
        expected.remaining_days,
        expected.currency,
        expected.revenue_target,
        expected.margin_target,
        expected.fx_rate_to_base,
        expected.fx_rate_date,
        expected.revenue_target_base,
        expected.margin_target_base,
        expected.revenue_to_date_base,
        expected.margin_to_date_base,
        expected.revenue_attainment_share,
        expected.margin_attainment_share,
        expected.pace_method,
        expected.expected_attainment_share,
        expected.paced_attainment_share - expected.expected_attainment_share as pace_gap,
        expected.forecast_method,
        case expected.forecast_method
            when 'actual' then expected.margin_to_date_base
            when 'clv_model' then expected.margin_to_date_base + expected.rest_expected_margin_base
            when 'run_rate' then expected.margin_to_date_base * expected.period_days / expected.elapsed_days
        end as forecast_margin_base,
        case
            when expected.elapsed_days = 0 then 'not_started'
            when expected.paced_attainment_share is null then 'no_target'
            when expected.paced_attainment_share - expected.expected_attainment_share >= -{{ at_risk_gap }}
                then 'on_track'
            when expected.paced_attainment_share - expected.expected_attainment_share >= -{{ behind_gap }}
                then 'at_risk'
            else 'behind'
        end as attainment_status
    from expected
    left join customers
        on expected.account_id = customers.account_id

),

-- key accounts (class A or key-account score) without a plan whose period holds the run date
key_accounts_without_plan as (

    select
        'no_plan:' || customers.customer_key as plan_key,
        cast(null as {{ dbt.type_string() }}) as plan_id,
        customers.account_id,
        customers.customer_id,
        customers.account_name,
        customers.owner_id,
        cast(null as {{ dbt.type_string() }}) as plan_status,
        cast(null as {{ dbt.type_string() }}) as objective,
        cast(null as date) as period_start,
        cast(null as date) as period_end,
        cast(null as integer) as period_days,
        cast(null as integer) as elapsed_days,
        cast(null as integer) as remaining_days,
        cast(null as {{ dbt.type_string() }}) as currency,
        cast(null as {{ type_double() }}) as revenue_target,
        cast(null as {{ type_double() }}) as margin_target,
        cast(null as {{ type_double() }}) as fx_rate_to_base,
        cast(null as date) as fx_rate_date,
        cast(null as {{ type_double() }}) as revenue_target_base,
        cast(null as {{ type_double() }}) as margin_target_base,
        cast(null as {{ type_double() }}) as revenue_to_date_base,
        cast(null as {{ type_double() }}) as margin_to_date_base,
        cast(null as {{ type_double() }}) as revenue_attainment_share,
        cast(null as {{ type_double() }}) as margin_attainment_share,
        cast(null as {{ dbt.type_string() }}) as pace_method,
        cast(null as {{ type_double() }}) as expected_attainment_share,
        cast(null as {{ type_double() }}) as pace_gap,
        cast(null as {{ dbt.type_string() }}) as forecast_method,
        cast(null as {{ type_double() }}) as forecast_margin_base,
        'no_plan' as attainment_status
    from tiers
    inner join customers
        on tiers.customer_id = customers.customer_id
    where
        {{ is_alert_key_account('tiers') }}
        and not exists (
            select 1 as has_current_plan
            from measured
            where
                measured.customer_id = tiers.customer_id
                and measured.period_start <= {{ as_of_date() }}
                and measured.period_end >= {{ as_of_date() }}
        )

),

unioned as (

    select * from plan_rows
    union all
    select * from key_accounts_without_plan

),

final as (

    select
        unioned.plan_key,
        {{ as_of_date() }} as as_of_date,
        unioned.plan_id,
        unioned.account_id,
        unioned.customer_id,
        unioned.account_name,
        unioned.owner_id,
        tiers.abc_class,
        coalesce({{ is_alert_key_account('tiers') }}, false) as is_key_account,
        unioned.plan_status,
        unioned.objective,
        unioned.period_start,
        unioned.period_end,
        unioned.period_days,
        unioned.elapsed_days,
        unioned.remaining_days,
        unioned.currency,
        unioned.revenue_target,
        unioned.margin_target,
        '{{ var("base_currency") }}' as base_currency,
        unioned.fx_rate_to_base,
        unioned.fx_rate_date,
        unioned.revenue_target_base,
        unioned.margin_target_base,
        unioned.revenue_to_date_base,
        unioned.margin_to_date_base,
        unioned.revenue_attainment_share,
        unioned.margin_attainment_share,
        unioned.pace_method,
        unioned.expected_attainment_share,
        unioned.pace_gap,
        unioned.forecast_method,
        unioned.forecast_margin_base,
        case
            when unioned.margin_target_base > 0 then unioned.forecast_margin_base / unioned.margin_target_base
        end as forecast_margin_attainment_share,
        unioned.attainment_status
    from unioned
    left join tiers
        on unioned.customer_id = tiers.customer_id

)

select * from final
