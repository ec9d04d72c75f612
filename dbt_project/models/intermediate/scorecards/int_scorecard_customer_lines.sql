-- One row per customer with a CRM owner, as of the run date: the owner and the owner's
-- manager it rolls up to, and what account_manager_scorecards counts per customer (ABC class,
-- value quadrant, key account, trailing and prior 12-month revenue and margin, last year's
-- ABC class, health band, touchpoint coverage, key account won or lost, alerts, complaints
-- past SLA and the account's plans).
--   last year's class: the ABC classification (var abc_measure, abc_cutoff_a/b, no hysteresis)
--     of the prior 12-month window (customer_facts *_prior_12m), so it needs no tier history.
--   touched within interval: a key account whose last touchpoint is at most its class's
--     alert_no_touchpoint_max_days ago (a class not listed has no limit: always touched).
--   key account won / lost: a customer_tier_changes row in the trailing 12 months whose
--     key-account status (class A or is_key_account) turned on / off.

{%- set measure = abc_measure_prefix() %}
{%- set touchpoint_limits = var('alert_no_touchpoint_max_days') %}

with

tiers as (

    select * from {{ ref('customer_tiers') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

facts as (

    select * from {{ ref('customer_facts') }}

),

health as (

    select * from {{ ref('customer_health') }}

),

tier_changes as (

    select * from {{ ref('customer_tier_changes') }}

),

alerts as (

    select * from {{ ref('key_account_alerts') }}

),

plans as (

    select * from {{ ref('account_plan_attainment') }}

),

prior_ranked as (

    select
        customer_id,
        {{ measure }}_prior_12m as prior_measure,
        {{ abc_running_positive(measure ~ '_prior_12m') }} as prior_running,
        {{ abc_total_positive(measure ~ '_prior_12m') }} as prior_total
    from facts
    where customer_id is not null

),

prior_classes as (

    select
        customer_id,
        {{ abc_class_from_share(
            'prior_measure',
            abc_share_before('prior_measure', 'prior_running', 'prior_total')
        ) }} as prior_abc_class
    from prior_ranked

),

key_account_moves as (

    select
        customer_id,
        max(case when is_key_now and not was_key then 1 else 0 end) = 1 as is_key_account_won,
        max(case when was_key and not is_key_now then 1 else 0 end) = 1 as is_key_account_lost
    from (
        select
            customer_id,
            (abc_class = 'A' or coalesce(is_key_account, false)) as is_key_now,
            (previous_abc_class = 'A' or coalesce(previous_is_key_account, false)) as was_key
        from tier_changes
        where
            change_date > {{ dbt.dateadd('month', -12, as_of_date()) }}
            and change_date <= {{ as_of_date() }}
    ) as moves
    group by customer_id

),

alert_counts as (

    select
        customer_id,
        count(*) as alerts_raised,
        sum(case when severity = 'high' then 1 else 0 end) as high_alerts_raised,
        sum(case when rule_id = 'complaint_past_sla' then 1 else 0 end) as complaints_past_sla
    from alerts
    group by customer_id

),

plan_totals as (

    select
        customer_id,
        sum(case when plan_id is not null then 1 else 0 end) as plan_count,
        sum(case when attainment_status = 'on_track' then 1 else 0 end) as plans_on_track,
        sum(case when attainment_status = 'at_risk' then 1 else 0 end) as plans_at_risk,
        sum(case when attainment_status = 'behind' then 1 else 0 end) as plans_behind,
        max(case when attainment_status = 'no_plan' then 1 else 0 end) = 1 as is_without_plan,
        sum(case when attainment_status in ('on_track', 'at_risk', 'behind') then margin_target_base end)
            as plan_margin_target_base,
        sum(case when attainment_status in ('on_track', 'at_risk', 'behind') then margin_to_date_base end)
            as plan_margin_to_date_base,
        sum(
            case
                when attainment_status in ('on_track', 'at_risk', 'behind')
                    then margin_target_base * expected_attainment_share
            end
        ) as plan_margin_expected_base
    from plans
    group by customer_id

),

final as (

    select
        tiers.customer_id,
        customers.owner_id,
        customers.owner_name,
        customers.manager_email,
        customers.owner_team,
        tiers.abc_class,
        tiers.value_quadrant,
        {{ is_alert_key_account('tiers') }} as is_key_account,
        coalesce(facts.revenue_t12m, 0) as revenue_t12m,
        coalesce(facts.gross_margin_t12m, 0) as gross_margin_t12m,
        coalesce(facts.revenue_prior_12m, 0) as revenue_prior_12m,
        coalesce(facts.gross_margin_prior_12m, 0) as gross_margin_prior_12m,
        coalesce(prior_classes.prior_abc_class, 'C') as prior_abc_class,
        health.health_band,
        health.health_score,
        {{ is_alert_key_account('tiers') }}
        and case tiers.abc_class
            {%- for abc_class, max_days in touchpoint_limits.items() %}
                when '{{ abc_class }}' then coalesce(facts.days_since_last_touchpoint <= {{ max_days | int }}, false)
            {%- endfor %}
            else true
        end as is_touched_within_interval,
        coalesce(key_account_moves.is_key_account_won, false) as is_key_account_won,
        coalesce(key_account_moves.is_key_account_lost, false) as is_key_account_lost,
        coalesce(alert_counts.alerts_raised, 0) as alerts_raised,
        coalesce(alert_counts.high_alerts_raised, 0) as high_alerts_raised,
        coalesce(alert_counts.complaints_past_sla, 0) as complaints_past_sla,
        coalesce(plan_totals.plan_count, 0) as plan_count,
        coalesce(plan_totals.plans_on_track, 0) as plans_on_track,
        coalesce(plan_totals.plans_at_risk, 0) as plans_at_risk,
        coalesce(plan_totals.plans_behind, 0) as plans_behind,
        coalesce(plan_totals.is_without_plan, false) as is_key_account_without_plan,
        plan_totals.plan_margin_target_base,
        plan_totals.plan_margin_to_date_base,
        plan_totals.plan_margin_expected_base
    from tiers
    inner join customers
        on tiers.customer_id = customers.customer_id
    left join facts
        on tiers.customer_id = facts.customer_id
    left join prior_classes
        on tiers.customer_id = prior_classes.customer_id
    left join health
        on tiers.customer_id = health.customer_id
    left join key_account_moves
        on tiers.customer_id = key_account_moves.customer_id
    left join alert_counts
        on tiers.customer_id = alert_counts.customer_id
    left join plan_totals
        on tiers.customer_id = plan_totals.customer_id
    where customers.owner_id is not null

)

select * from final
