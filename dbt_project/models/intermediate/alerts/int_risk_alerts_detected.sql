-- Churn-risk alerts (alert_type risk) as of the run date, one row per condition:
--   competitor_loss: a key account lost an opportunity to a named competitor within
--     alert_competitor_loss_days days; high when its amount (base currency, at the rate of
--     the closing date) is at least alert_competitor_loss_high_share of the customer's
--     trailing-12-month revenue, else medium. Subject: the opportunity.
--   revenue_decline: class A now or on the comparison window, and trailing revenue changed by
--     <= -alert_revenue_decline_share against the prior window; high when class A now and the
--     fall exceeds alert_revenue_decline_high_share, else medium.
--   order_cadence_gap: a key account (not churned) with at least
--     alert_order_cadence_min_orders orders whose days since the last order exceed
--     alert_order_cadence_multiple x its usual interval between orders; high beyond twice
--     that multiple, else medium.
-- Key accounts: class A or is_key_account. Columns: customer_id, rule_id, alert_type,
-- severity, alert_subject, reason, evidence.

{%- set base_currency = var('base_currency') %}
{%- set loss_days = var('alert_competitor_loss_days') | int %}
{%- set cadence_multiple = var('alert_order_cadence_multiple') %}

with

tiers as (

    select * from {{ ref('customer_tiers') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

lifecycle as (

    select * from {{ ref('customer_lifecycle') }}

),

opportunities as (

    select * from {{ ref('stg_crm__opportunities') }}

),

fx_rates as (

    select * from {{ ref('int_fx_rates_ranged') }}

),

key_accounts as (

    select
        tiers.customer_id,
        tiers.abc_class,
        tiers.revenue_t12m,
        customers.account_id
    from tiers
    left join customers
        on tiers.customer_id = customers.customer_id
    where {{ is_alert_key_account('tiers') }}

),

-- competitor_loss -----------------------------------------------------------------------

lost_opportunities as (

    select
        key_accounts.customer_id,
        key_accounts.revenue_t12m,
        opportunities.opportunity_id,
        opportunities.competitor,
        opportunities.amount,
        opportunities.currency,
        cast(opportunities.closed_at as date) as closed_date,
        {{ dbt.datediff('cast(opportunities.closed_at as date)', as_of_date(), 'day') }} as days_since_lost,  -- noqa: LT05
        opportunities.amount
        * case
            when opportunities.currency = '{{ base_currency }}' then 1.0
            else fx_rates.rate_to_base
        end as amount_base
    from opportunities
    inner join key_accounts
        on opportunities.account_id = key_accounts.account_id
    left join fx_rates
        on
            opportunities.currency = fx_rates.currency
            and cast(opportunities.closed_at as date) >= fx_rates.valid_from_date
            and cast(opportunities.closed_at as date) < fx_rates.valid_to_date
    where
        not coalesce(opportunities.is_won, false)
        and opportunities.competitor is not null
        and opportunities.closed_at is not null
        and cast(opportunities.closed_at as date) > {{ date_add_days(-loss_days, as_of_date()) }}
        and cast(opportunities.closed_at as date) <= {{ as_of_date() }}

),

competitor_loss as (

    select
        customer_id,
        'competitor_loss' as rule_id,
        'risk' as alert_type,
        case
            when amount_base >= {{ var('alert_competitor_loss_high_share') }} * coalesce(revenue_t12m, 0)
                then 'high'
            else 'medium'
        end as severity,
        opportunity_id as alert_subject,
        'Opportunity ' || opportunity_id || ' ({{ base_currency }} '
        || coalesce({{ format_thousands('amount_base') }}, '?')
        || ') lost to ' || competitor || ' on ' || cast(closed_date as {{ dbt.type_string() }})
        || ', ' || cast(days_since_lost as {{ dbt.type_string() }})
        || case when days_since_lost = 1 then ' day' else ' days' end || ' ago.' as reason,
        {{ evidence_json([
            ('opportunity_id', 'opportunity_id', 'id'),
            ('competitor', 'competitor', 'text'),
            ('closed_date', 'cast(closed_date as ' ~ dbt.type_string() ~ ')', 'date'),
            ('days_since_lost', 'days_since_lost', 'days'),
            ('amount', 'amount', 'money', 'currency'),
            ('amount_base', round_to('amount_base', 2), 'money', "'" ~ base_currency ~ "'"),
            ('revenue_t12m', round_to('revenue_t12m', 2), 'money', "'" ~ base_currency ~ "'"),
        ]) }} as evidence
    from lost_opportunities

),

-- revenue_decline -----------------------------------------------------------------------

revenue_decline as (

    select
        customer_id,
        'revenue_decline' as rule_id,
        'risk' as alert_type,
        case
            when abc_class = 'A' and revenue_change_share < -1.0 * ({{ var('alert_revenue_decline_high_share') }})
                then 'high'
            else 'medium'
        end as severity,
        cast(null as {{ dbt.type_string() }}) as alert_subject,
        'Trailing 12-month revenue fell '
        || {{ rounded_integer_text('-100 * revenue_change_share') }}
        || '% ({{ base_currency }} ' || {{ format_thousands('revenue_prior_12m') }}
        || ' -> {{ base_currency }} ' || {{ format_thousands('revenue_t12m') }} || ').' as reason,
        {{ evidence_json([
            ('revenue_t12m', round_to('revenue_t12m', 2), 'money', "'" ~ base_currency ~ "'"),
            ('revenue_prior_12m', round_to('revenue_prior_12m', 2), 'money', "'" ~ base_currency ~ "'"),
            ('revenue_change_share', round_to('revenue_change_share', 4), 'share'),
            ('abc_class', 'abc_class', 'id'),
            ('previous_abc_class', 'previous_abc_class', 'id'),
            ('threshold_share', var('alert_revenue_decline_share'), 'share'),
        ]) }} as evidence
    from tiers
    where
        (abc_class = 'A' or previous_abc_class = 'A')
        and revenue_change_share <= -1.0 * ({{ var('alert_revenue_decline_share') }})

),

-- order_cadence_gap ---------------------------------------------------------------------

cadence as (

    select
        key_accounts.customer_id,
        lifecycle.last_order_date,
        lifecycle.recency_days,
        lifecycle.order_count_total,
        lifecycle.usual_order_interval_days,
        -- a usual interval under one day counts as one day (as customer_lifecycle does)
        lifecycle.recency_days / greatest(lifecycle.usual_order_interval_days, 1.0) as interval_ratio
    from key_accounts
    inner join lifecycle
        on key_accounts.customer_id = lifecycle.customer_id
    where
        lifecycle.order_count_total >= {{ var('alert_order_cadence_min_orders') }}
        and lifecycle.lifecycle_stage <> 'churned'
        and lifecycle.recency_days is not null

),

order_cadence_gap as (

    select
        customer_id,
        'order_cadence_gap' as rule_id,
        'risk' as alert_type,
        case when interval_ratio > 2 * ({{ cadence_multiple }}) then 'high' else 'medium' end as severity,
        cast(null as {{ dbt.type_string() }}) as alert_subject,
        'No order for ' || cast(recency_days as {{ dbt.type_string() }}) || ' days (last on '
        || cast(last_order_date as {{ dbt.type_string() }}) || '), '
        || {{ rounded_text('interval_ratio', 1) }}
        || ' times the usual interval of '
        || {{ rounded_text('usual_order_interval_days', 1) }}
        || ' days between its ' || cast(order_count_total as {{ dbt.type_string() }}) || ' orders.' as reason,
        {{ evidence_json([
            ('recency_days', 'recency_days', 'days'),
            ('last_order_date', 'cast(last_order_date as ' ~ dbt.type_string() ~ ')', 'date'),
            ('usual_order_interval_days', round_to('usual_order_interval_days', 1), 'days'),
            ('interval_ratio', round_to('interval_ratio', 2), 'ratio'),
            ('order_count_total', 'order_count_total', 'count'),
            ('threshold_multiple', cadence_multiple, 'ratio'),
        ]) }} as evidence
    from cadence
    where interval_ratio > {{ cadence_multiple }}

),

final as (

    select * from competitor_loss
    union all
    select * from revenue_decline
    union all
    select * from order_cadence_gap

)

select * from final
