-- Lifecycle alerts (alert_type lifecycle) of key accounts as of the run date, one row per
-- condition:
--   health_band_drop: the health band is worse than the previous run's (green > yellow >
--     red; customer_health.previous_health_band); high when now red, else medium.
--   entered_decline: the lifecycle stage changed to decline within alert_entered_decline_days
--     days (customer_lifecycle.stage_entered_date: the run that saw the change, or the date
--     derived from the order history before there was a previous run); high on class A,
--     else medium.
--   low_p_alive: the BG/NBD probability that the customer is still active
--     (customer_clv.p_alive, model fallbacks excluded) is below
--     alert_low_p_alive_threshold; high below half of it, else medium.
-- Key accounts: class A or is_key_account. Columns: customer_id, rule_id, alert_type,
-- severity, alert_subject, reason, evidence.

{%- set decline_days = var('alert_entered_decline_days') | int %}
{%- set p_alive_threshold = var('alert_low_p_alive_threshold') %}

with

tiers as (

    select * from {{ ref('customer_tiers') }}

),

health as (

    select * from {{ ref('customer_health') }}

),

lifecycle as (

    select * from {{ ref('customer_lifecycle') }}

),

clv as (

    select * from {{ ref('customer_clv') }}

),

key_accounts as (

    select
        customer_id,
        abc_class
    from tiers
    where {{ is_alert_key_account() }}

),

-- health_band_drop ----------------------------------------------------------------------

bands as (

    select
        key_accounts.customer_id,
        health.health_band,
        health.previous_health_band,
        health.health_score,
        health.previous_health_score,
        case health.health_band when 'green' then 0 when 'yellow' then 1 when 'red' then 2 end as band_rank,
        case health.previous_health_band when 'green' then 0 when 'yellow' then 1 when 'red' then 2 end
            as previous_band_rank
    from key_accounts
    inner join health
        on key_accounts.customer_id = health.customer_id

),

health_band_drop as (

    select
        customer_id,
        'health_band_drop' as rule_id,
        'lifecycle' as alert_type,
        case when health_band = 'red' then 'high' else 'medium' end as severity,
        cast(null as {{ dbt.type_string() }}) as alert_subject,
        'Health band dropped from ' || previous_health_band || ' to ' || health_band || ' (score '
        || coalesce({{ rounded_text('previous_health_score', 1) }}, '?') || ' -> '
        || {{ rounded_text('health_score', 1) }} || ').' as reason,
        {{ evidence_json([
            ('health_band', 'health_band', 'code', "'health_band'"),
            ('previous_health_band', 'previous_health_band', 'code', "'health_band'"),
            ('health_score', round_to('health_score', 1), 'score'),
            ('previous_health_score', round_to('previous_health_score', 1), 'score'),
        ]) }} as evidence
    from bands
    where band_rank > previous_band_rank

),

-- entered_decline -----------------------------------------------------------------------

declines as (

    select
        key_accounts.customer_id,
        key_accounts.abc_class,
        lifecycle.previous_stage,
        lifecycle.stage_entered_date,
        {{ dbt.datediff('lifecycle.stage_entered_date', as_of_date(), 'day') }} as days_in_decline,  -- noqa: LT05
        lifecycle.recency_days,
        lifecycle.usual_order_interval_days,
        lifecycle.revenue_change_share
    from key_accounts
    inner join lifecycle
        on key_accounts.customer_id = lifecycle.customer_id
    where
        lifecycle.lifecycle_stage = 'decline'
        and coalesce(lifecycle.previous_stage, 'none') <> 'decline'
        and lifecycle.stage_entered_date > {{ date_add_days(-decline_days, as_of_date()) }}
        and lifecycle.stage_entered_date <= {{ as_of_date() }}

),

entered_decline as (

    select
        customer_id,
        'entered_decline' as rule_id,
        'lifecycle' as alert_type,
        case when abc_class = 'A' then 'high' else 'medium' end as severity,
        cast(null as {{ dbt.type_string() }}) as alert_subject,
        'Lifecycle stage changed from ' || coalesce(previous_stage, 'unknown') || ' to decline on '
        || cast(stage_entered_date as {{ dbt.type_string() }}) || ': last order '
        || coalesce(cast(recency_days as {{ dbt.type_string() }}), '?') || ' days ago, usually one every '
        || coalesce({{ rounded_text('usual_order_interval_days', 1) }}, '?') || ' days'
        || coalesce(
            '; trailing 12-month revenue '
            || case when revenue_change_share >= 0 then '+' else '' end
            || {{ rounded_integer_text('100 * revenue_change_share') }}
            || '%',
            ''
        ) || '.' as reason,
        {{ evidence_json([
            ('previous_stage', 'previous_stage', 'code', "'lifecycle_stage'"),
            ('stage_entered_date', 'cast(stage_entered_date as ' ~ dbt.type_string() ~ ')', 'date'),
            ('days_in_decline', 'days_in_decline', 'days'),
            ('recency_days', 'recency_days', 'days'),
            ('usual_order_interval_days', round_to('usual_order_interval_days', 1), 'days'),
            ('revenue_change_share', round_to('revenue_change_share', 4), 'share'),
            ('window_days', decline_days, 'days'),
        ]) }} as evidence
    from declines

),

-- low_p_alive ---------------------------------------------------------------------------

survival as (

    select
        key_accounts.customer_id,
        clv.p_alive,
        clv.frequency,
        clv.model_version
    from key_accounts
    inner join clv
        on key_accounts.customer_id = clv.customer_id
    where
        not coalesce(clv.is_fallback, false)
        and clv.p_alive < {{ p_alive_threshold }}

),

low_p_alive as (

    select
        customer_id,
        'low_p_alive' as rule_id,
        'lifecycle' as alert_type,
        case when p_alive < 0.5 * {{ p_alive_threshold }} then 'high' else 'medium' end as severity,
        cast(null as {{ dbt.type_string() }}) as alert_subject,
        'Probability that the customer is still buying (BG/NBD P(alive)) is '
        || {{ rounded_integer_text('100 * p_alive') }}
        || '%, below the '
        || {{ rounded_integer_text('100 * ' ~ p_alive_threshold) }}
        || '% threshold.' as reason,
        {{ evidence_json([
            ('p_alive', round_to('p_alive', 4), 'share'),
            ('repeat_purchases', 'frequency', 'count'),
            ('threshold', p_alive_threshold, 'share'),
            ('model_version', 'model_version', 'id'),
        ]) }} as evidence
    from survival

),

final as (

    select * from health_band_drop
    union all
    select * from entered_decline
    union all
    select * from low_p_alive

)

select * from final
