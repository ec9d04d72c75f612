{{ config(materialized='table') }}

-- One row per account plan (stg_crm__account_plans) as of the run date: the plan's ERP
-- customer, its period measured up to the run date, its targets converted to the base
-- currency at the rate of the period start (the run date for a period that starts later),
-- revenue and margin to date in the period, the same windows one and two years earlier
-- (the account's own seasonality), and the CLV features the forecast needs.

with

plans as (

    select * from {{ ref('stg_crm__account_plans') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

fx_rates as (

    select * from {{ ref('int_fx_rates_ranged') }}

),

clv as (

    select * from {{ ref('customer_clv') }}

),

plan_periods as (

    select
        plans.plan_id,
        plans.account_id,
        plans.owner_id,
        plans.status,
        plans.objective,
        plans.period_start,
        plans.period_end,
        plans.currency,
        plans.revenue_target,
        plans.margin_target,
        customers.customer_id,
        least(plans.period_end, {{ as_of_date() }}) as measured_to_date,
        least(plans.period_start, {{ as_of_date() }}) as fx_wanted_date,
        {{ dbt.datediff('plans.period_start', 'plans.period_end', 'day') }} + 1 as period_days, -- noqa: LT05
        {%- set measured_to = 'least(plans.period_end, ' ~ as_of_date() ~ ')' %}
        greatest(0, {{ dbt.datediff('plans.period_start', measured_to, 'day') }} + 1) as elapsed_days -- noqa: LT05
    from plans
    left join customers
        on plans.account_id = customers.account_id

),

converted as (

    select
        plan_periods.*,
        case
            when plan_periods.currency = '{{ var("base_currency") }}' then 1.0
            else target_rates.rate_to_base
        end as fx_rate_to_base,
        case
            when plan_periods.currency <> '{{ var("base_currency") }}' then target_rates.rate_date
        end as fx_rate_date
    from plan_periods
    {{ fx_rate_join('fx_rates', 'target_rates', 'plan_periods.currency', 'plan_periods.fx_wanted_date') }}

),

-- revenue and margin per customer and day: the windows below sum days, not lines
customer_days as (

    select
        order_lines.customer_id,
        order_lines.order_date,
        sum(order_lines.revenue_base) as revenue_base,
        sum(order_lines.gross_margin_base) as gross_margin_base
    from order_lines
    where order_lines.customer_id in (select plan_periods.customer_id from plan_periods)
    group by order_lines.customer_id, order_lines.order_date

),

first_orders as (

    select
        customer_id,
        min(order_date) as first_order_date
    from customer_days
    group by customer_id

),

actuals as (

    select
        plan_periods.plan_id,
        sum(customer_days.revenue_base) as revenue_to_date_base,
        sum(customer_days.gross_margin_base) as margin_to_date_base
    from plan_periods
    inner join customer_days
        on
            plan_periods.customer_id = customer_days.customer_id
            and plan_periods.period_start <= customer_days.order_date
            and plan_periods.measured_to_date >= customer_days.order_date
    group by plan_periods.plan_id

),

-- the plan's period and its elapsed part, one and two years earlier
history_windows as (

    select
        plan_id,
        customer_id,
        cast({{ dbt.dateadd('year', -1, 'period_start') }} as date) as window_start,
        cast({{ dbt.dateadd('year', -1, 'measured_to_date') }} as date) as elapsed_end,
        cast({{ dbt.dateadd('year', -1, 'period_end') }} as date) as window_end
    from plan_periods
    where customer_id is not null
    union all
    select
        plan_id,
        customer_id,
        cast({{ dbt.dateadd('year', -2, 'period_start') }} as date) as window_start,
        cast({{ dbt.dateadd('year', -2, 'measured_to_date') }} as date) as elapsed_end,
        cast({{ dbt.dateadd('year', -2, 'period_end') }} as date) as window_end
    from plan_periods
    where customer_id is not null

),

history as (

    select
        history_windows.plan_id,
        sum(
            case
                when customer_days.order_date <= history_windows.elapsed_end
                    then customer_days.revenue_base
                else 0
            end
        ) as history_elapsed_revenue_base,
        sum(customer_days.revenue_base) as history_period_revenue_base
    from history_windows
    inner join customer_days
        on
            history_windows.customer_id = customer_days.customer_id
            and history_windows.window_start <= customer_days.order_date
            and history_windows.window_end >= customer_days.order_date
    group by history_windows.plan_id

),

final as (

    select
        converted.plan_id,
        converted.account_id,
        converted.customer_id,
        converted.owner_id,
        converted.status,
        converted.objective,
        converted.period_start,
        converted.period_end,
        cast(converted.period_days as integer) as period_days,
        cast(least(converted.elapsed_days, converted.period_days) as integer) as elapsed_days,
        cast(converted.period_days - least(converted.elapsed_days, converted.period_days) as integer)
            as remaining_days,
        converted.currency,
        converted.revenue_target,
        converted.margin_target,
        converted.fx_rate_to_base,
        converted.fx_rate_date,
        converted.revenue_target * converted.fx_rate_to_base as revenue_target_base,
        converted.margin_target * converted.fx_rate_to_base as margin_target_base,
        coalesce(actuals.revenue_to_date_base, 0) as revenue_to_date_base,
        coalesce(actuals.margin_to_date_base, 0) as margin_to_date_base,
        first_orders.first_order_date,
        coalesce(
            first_orders.first_order_date <= cast({{ dbt.dateadd('year', -2, 'converted.period_start') }} as date),
            false
        ) as has_two_years_history,
        coalesce(history.history_elapsed_revenue_base, 0) as history_elapsed_revenue_base,
        coalesce(history.history_period_revenue_base, 0) as history_period_revenue_base,
        clv.frequency,
        clv.recency,
        clv.customer_age,
        clv.expected_purchases,
        clv.expected_avg_margin,
        clv.model_run_id
    from converted
    left join actuals
        on converted.plan_id = actuals.plan_id
    left join first_orders
        on converted.customer_id = first_orders.customer_id
    left join history
        on converted.plan_id = history.plan_id
    left join clv
        on converted.customer_id = clv.customer_id

)

select * from final
