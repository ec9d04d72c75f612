-- One row per account manager (grain owner: a CRM owner with at least one customer) and per
-- manager (grain manager: the owners' manager_email, their team roll-up) as of the run date:
-- portfolio by ABC class and value quadrant, key accounts, trailing-12-month revenue and
-- margin and their growth against the prior 12 months, retention of last year's class A
-- accounts, key accounts won and lost, health-band mix, plan attainment, touchpoint coverage,
-- alerts detected, complaints past SLA, and a 0-100 score: the var scorecard_weights weighted
-- mean of the components that have data (weights renormalised over them).
-- Alert lifecycle (int_alert_lifecycle: the alert history of the previous alerts step plus the
-- run's own detections): alerts raised and closed in the calendar month of the run date and
-- the median days to close of those closed, by the customer's owner as of the run date.
--   margin_growth: 50 + 50 x margin growth share / var scorecard_growth_full_share (0-100)
--   plan_pace: 100 x margin to date / margin expected by now over the portfolio's plans (max 100)
--   touchpoint_coverage: 100 x key accounts touched within their class's interval / key accounts
--   key_account_health: mean health score of the key accounts
--   a_account_retention: 100 x last year's class A accounts still class A / last year's A accounts

{%- set weights = var('scorecard_weights') %}
{%- set full_share = var('scorecard_growth_full_share') %}

with

lines as (

    select * from {{ ref('int_scorecard_customer_lines') }}

),

alert_lifecycle as (

    select * from {{ ref('int_alert_lifecycle') }}

),

subjects as (

    select
        'owner' as grain,
        owner_id as subject_id,
        max(owner_name) as subject_name,
        max(manager_email) as manager_email,
        max(owner_team) as team,
        customer_id
    from lines
    group by owner_id, customer_id

    union all

    select
        'manager' as grain,
        manager_email as subject_id,
        manager_email as subject_name,
        manager_email,
        max(owner_team) as team,
        customer_id
    from lines
    where manager_email is not null
    group by manager_email, customer_id

),

portfolio as (

    select
        subjects.grain,
        subjects.subject_id,
        max(subjects.subject_name) as subject_name,
        max(subjects.manager_email) as manager_email,
        max(subjects.team) as team,
        count(distinct lines.owner_id) as account_manager_count,
        count(*) as customer_count,
        sum(case when lines.abc_class = 'A' then 1 else 0 end) as class_a_count,
        sum(case when lines.abc_class = 'B' then 1 else 0 end) as class_b_count,
        sum(case when lines.abc_class = 'C' then 1 else 0 end) as class_c_count,
        sum(case when lines.value_quadrant = 'core' then 1 else 0 end) as core_count,
        sum(case when lines.value_quadrant = 'potential' then 1 else 0 end) as potential_count,
        sum(case when lines.value_quadrant = 'direct' then 1 else 0 end) as direct_count,
        sum(case when lines.value_quadrant = 'inferior' then 1 else 0 end) as inferior_count,
        sum(case when lines.is_key_account then 1 else 0 end) as key_account_count,
        sum(lines.revenue_t12m) as revenue_t12m,
        sum(lines.gross_margin_t12m) as gross_margin_t12m,
        sum(lines.revenue_prior_12m) as revenue_prior_12m,
        sum(lines.gross_margin_prior_12m) as gross_margin_prior_12m,
        sum(case when lines.prior_abc_class = 'A' then 1 else 0 end) as prior_class_a_count,
        sum(case when lines.prior_abc_class = 'A' and lines.abc_class = 'A' then 1 else 0 end)
            as retained_class_a_count,
        sum(case when lines.is_key_account_won then 1 else 0 end) as key_accounts_won,
        sum(case when lines.is_key_account_lost then 1 else 0 end) as key_accounts_lost,
        sum(case when lines.is_key_account and lines.health_band = 'green' then 1 else 0 end)
            as key_accounts_green,
        sum(case when lines.is_key_account and lines.health_band = 'yellow' then 1 else 0 end)
            as key_accounts_yellow,
        sum(case when lines.is_key_account and lines.health_band = 'red' then 1 else 0 end)
            as key_accounts_red,
        avg(case when lines.is_key_account then lines.health_score end) as key_account_health_mean,
        sum(case when lines.is_touched_within_interval then 1 else 0 end) as key_accounts_touched,
        sum(lines.plan_count) as plan_count,
        sum(lines.plans_on_track) as plans_on_track,
        sum(lines.plans_at_risk) as plans_at_risk,
        sum(lines.plans_behind) as plans_behind,
        sum(case when lines.is_key_account_without_plan then 1 else 0 end) as key_accounts_without_plan,
        sum(lines.plan_margin_target_base) as plan_margin_target_base,
        sum(lines.plan_margin_to_date_base) as plan_margin_to_date_base,
        sum(lines.plan_margin_expected_base) as plan_margin_expected_base,
        sum(lines.alerts_raised) as alerts_raised,
        sum(lines.high_alerts_raised) as high_alerts_raised,
        sum(lines.complaints_past_sla) as complaints_past_sla
    from subjects
    inner join lines
        on subjects.customer_id = lines.customer_id
    group by subjects.grain, subjects.subject_id

),

lifecycle_totals as (

    select
        subjects.grain,
        subjects.subject_id,
        sum(case when alert_lifecycle.is_raised_in_month then 1 else 0 end) as alerts_raised_in_month,
        sum(case when alert_lifecycle.is_closed_in_month then 1 else 0 end) as alerts_closed_in_month,
        percentile_cont(0.5) within group (
            order by case when alert_lifecycle.is_closed_in_month then alert_lifecycle.days_to_close end
        ) as median_days_to_close
    from subjects
    inner join alert_lifecycle
        on subjects.customer_id = alert_lifecycle.customer_id
    group by subjects.grain, subjects.subject_id

),

shares as (

    select
        *,
        case when revenue_prior_12m > 0 then (revenue_t12m - revenue_prior_12m) / revenue_prior_12m end
            as revenue_growth_share,
        case
            when gross_margin_prior_12m > 0
                then (gross_margin_t12m - gross_margin_prior_12m) / gross_margin_prior_12m
        end as gross_margin_growth_share,
        case when prior_class_a_count > 0 then {{ as_double('retained_class_a_count') }} / prior_class_a_count end
            as class_a_retention_share,
        case when key_account_count > 0 then {{ as_double('key_accounts_touched') }} / key_account_count end
            as touchpoint_coverage_share,
        case when plan_margin_target_base > 0 then plan_margin_to_date_base / plan_margin_target_base end
            as plan_margin_attainment_share,
        case
            when plan_margin_expected_base > 0 then plan_margin_to_date_base / plan_margin_expected_base
        end as plan_margin_pace_share
    from portfolio

),

components as (

    select
        *,
        -- least/greatest skip nulls on DuckDB: a null share must stay a null score
        case
            when gross_margin_growth_share is not null
                then greatest(0.0, least(100.0, 50.0 + 50.0 * gross_margin_growth_share / {{ full_share }}))
        end as margin_growth_score,
        case when plan_margin_pace_share is not null then 100.0 * least(1.0, plan_margin_pace_share) end
            as plan_pace_score,
        100.0 * touchpoint_coverage_share as touchpoint_coverage_score,
        key_account_health_mean as key_account_health_score,
        100.0 * class_a_retention_share as a_account_retention_score
    from shares

),

scored as (

    select
        *,
        (
            {%- for name, weight in weights.items() %}
                coalesce({{ weight }} * {{ name }}_score, 0){{ ' +' if not loop.last }}
            {%- endfor %}
        ) as weighted_component_sum,
        (
            {%- for name, weight in weights.items() %}
                case when {{ name }}_score is not null then {{ weight }} else 0 end{{ ' +' if not loop.last }}
            {%- endfor %}
        ) as component_weight_sum
    from components

),

with_lifecycle as (

    select
        scored.*,
        lifecycle_totals.alerts_raised_in_month,
        lifecycle_totals.alerts_closed_in_month,
        lifecycle_totals.median_days_to_close
    from scored
    left join lifecycle_totals
        on scored.grain = lifecycle_totals.grain and scored.subject_id = lifecycle_totals.subject_id

),

final as (

    select
        grain || ':' || subject_id as scorecard_key,
        {{ as_of_date() }} as as_of_date,
        grain,
        subject_id,
        subject_name,
        manager_email,
        team,
        cast(account_manager_count as integer) as account_manager_count,
        cast(customer_count as integer) as customer_count,
        cast(class_a_count as integer) as class_a_count,
        cast(class_b_count as integer) as class_b_count,
        cast(class_c_count as integer) as class_c_count,
        cast(core_count as integer) as core_count,
        cast(potential_count as integer) as potential_count,
        cast(direct_count as integer) as direct_count,
        cast(inferior_count as integer) as inferior_count,
        cast(key_account_count as integer) as key_account_count,
        revenue_t12m,
        gross_margin_t12m,
        revenue_prior_12m,
        gross_margin_prior_12m,
        revenue_growth_share,
        gross_margin_growth_share,
        cast(prior_class_a_count as integer) as prior_class_a_count,
        cast(retained_class_a_count as integer) as retained_class_a_count,
        class_a_retention_share,
        cast(key_accounts_won as integer) as key_accounts_won,
        cast(key_accounts_lost as integer) as key_accounts_lost,
        cast(key_accounts_green as integer) as key_accounts_green,
        cast(key_accounts_yellow as integer) as key_accounts_yellow,
        cast(key_accounts_red as integer) as key_accounts_red,
        cast(key_accounts_touched as integer) as key_accounts_touched,
        touchpoint_coverage_share,
        cast(plan_count as integer) as plan_count,
        cast(plans_on_track as integer) as plans_on_track,
        cast(plans_at_risk as integer) as plans_at_risk,
        cast(plans_behind as integer) as plans_behind,
        cast(key_accounts_without_plan as integer) as key_accounts_without_plan,
        plan_margin_target_base,
        plan_margin_to_date_base,
        plan_margin_attainment_share,
        plan_margin_pace_share,
        cast(alerts_raised as integer) as alerts_raised,
        cast(high_alerts_raised as integer) as high_alerts_raised,
        cast(complaints_past_sla as integer) as complaints_past_sla,
        cast(coalesce(alerts_raised_in_month, 0) as integer) as alerts_raised_in_month,
        cast(coalesce(alerts_closed_in_month, 0) as integer) as alerts_closed_in_month,
        {{ as_double('median_days_to_close') }} as median_days_to_close,
        margin_growth_score,
        plan_pace_score,
        touchpoint_coverage_score,
        key_account_health_score,
        a_account_retention_score,
        {{ round_to('weighted_component_sum / nullif(component_weight_sum, 0)', 2) }} as scorecard_score,
        '{{ var("base_currency") }}' as base_currency
    from with_lifecycle

)

select * from final
