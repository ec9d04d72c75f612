-- One row per customer (dim_customers grain) with its lifecycle stage as of the run date:
-- prospect, exploration, formation, stability, decline or churned, from tenure, the order
-- cadence against the customer's own usual interval and the revenue trend (vars
-- lifecycle_*). stage_entered_date and previous_stage carry over from the previous run
-- (snapshot snap_customer_lifecycle) while the stage is unchanged; on a change, or without
-- a previous run, they are derived from the order history.

{%- set exploration_days = var('lifecycle_exploration_days') | int %}
{%- set formation_days = var('lifecycle_formation_days') | int %}
{%- set decline_multiple = var('lifecycle_decline_interval_multiple') %}
{%- set churn_multiple = var('lifecycle_churn_interval_multiple') %}

with

facts as (

    select * from {{ ref('customer_facts') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

previous_run as (

    {{ previous_run_state('snap_customer_lifecycle', [
        ('customer_key', dbt.type_string()),
        ('lifecycle_stage', dbt.type_string()),
        ('stage_entered_date', 'date'),
        ('previous_stage', dbt.type_string()),
    ]) }}

),

cadence as (

    select
        facts.customer_key,
        facts.account_id,
        facts.customer_id,
        facts.first_order_date,
        facts.last_order_date,
        facts.tenure_days,
        facts.recency_days,
        facts.order_count_total,
        facts.revenue_prior_12m,
        facts.revenue_change_share,
        cast(customers.account_created_at as date) as account_created_date,
        {{ dbt.datediff('facts.first_order_date', 'facts.last_order_date', 'day') }} as days_first_to_last_order,  -- noqa: LT05
        case
            when facts.order_count_total > 1
                then
                    cast(1 as {{ type_double() }}) * {{ dbt.datediff('facts.first_order_date', 'facts.last_order_date', 'day') }}  -- noqa: LT05
                    / (facts.order_count_total - 1)
            else {{ var('lifecycle_default_interval_days') }}
        end as usual_order_interval_days
    from facts
    left join customers
        on facts.customer_key = customers.customer_key

),

thresholds as (

    select
        cadence.*,
        -- a usual interval under one day (several orders a day) counts as one day
        greatest(cadence.usual_order_interval_days, 1.0) * {{ decline_multiple }} as decline_after_days,
        greatest(
            greatest(cadence.usual_order_interval_days, 1.0) * {{ churn_multiple }},
            {{ var('lifecycle_churn_min_days') }}
        ) as churn_after_days
    from cadence

),

staged as (

    select
        thresholds.*,
        case
            when thresholds.first_order_date is null then 'prospect'
            when thresholds.recency_days > thresholds.churn_after_days then 'churned'
            when thresholds.recency_days > thresholds.decline_after_days then 'decline'
            when
                thresholds.revenue_prior_12m > 0
                and thresholds.revenue_change_share <= -1.0 * ({{ var('lifecycle_decline_revenue_share') }})
                then 'decline'
            when thresholds.tenure_days < {{ exploration_days }} then 'exploration'
            when thresholds.tenure_days < {{ formation_days }} then 'formation'
            else 'stability'
        end as lifecycle_stage,
        thresholds.recency_days > thresholds.decline_after_days as is_cadence_decline,
        -- the growth stage the customer was in at its last order
        case
            when thresholds.days_first_to_last_order < {{ exploration_days }} then 'exploration'
            when thresholds.days_first_to_last_order < {{ formation_days }} then 'formation'
            else 'stability'
        end as stage_at_last_order
    from thresholds

),

derived as (

    select
        staged.*,
        case staged.lifecycle_stage
            when 'prospect' then staged.account_created_date
            when 'exploration' then staged.first_order_date
            when 'formation' then {{ date_add_days(exploration_days, 'first_order_date') }}
            when 'stability' then {{ date_add_days(formation_days, 'first_order_date') }}
            when 'decline'
                then
                    case
                        when staged.is_cadence_decline
                            then {{ date_add_days('cast(ceiling(decline_after_days) as integer)', 'last_order_date') }}
                        else {{ as_of_date() }}
                    end
            when 'churned'
                then {{ date_add_days('cast(ceiling(churn_after_days) as integer)', 'last_order_date') }}
        end as derived_entered_date,
        case staged.lifecycle_stage
            when 'exploration' then 'prospect'
            when 'formation' then 'exploration'
            when 'stability' then 'formation'
            when 'decline' then staged.stage_at_last_order
            when 'churned' then 'decline'
        end as derived_previous_stage
    from staged

),

final as (

    select
        derived.customer_key,
        derived.account_id,
        derived.customer_id,
        {{ as_of_date() }} as as_of_date,
        derived.lifecycle_stage,
        case
            when previous_run.lifecycle_stage = derived.lifecycle_stage then previous_run.stage_entered_date
            when previous_run.lifecycle_stage is not null then {{ as_of_date() }}
            else derived.derived_entered_date
        end as stage_entered_date,
        case
            when previous_run.lifecycle_stage = derived.lifecycle_stage then previous_run.previous_stage
            when previous_run.lifecycle_stage is not null then previous_run.lifecycle_stage
            else derived.derived_previous_stage
        end as previous_stage,
        coalesce(previous_run.lifecycle_stage <> derived.lifecycle_stage, false) as is_stage_changed,
        case
            when previous_run.lifecycle_stage is not null then 'previous_run' else 'derived'
        end as stage_history_source,
        derived.first_order_date,
        derived.last_order_date,
        derived.tenure_days,
        derived.recency_days,
        derived.order_count_total,
        cast(derived.usual_order_interval_days as {{ type_double() }}) as usual_order_interval_days,
        case
            when derived.first_order_date is not null
                then derived.recency_days / greatest({{ as_double('derived.usual_order_interval_days') }}, 1.0)
        end as order_interval_ratio,
        derived.revenue_change_share
    from derived
    left join previous_run
        on derived.customer_key = previous_run.customer_key

)

select * from final
