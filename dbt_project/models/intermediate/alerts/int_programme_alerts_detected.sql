-- KAM-programme alerts (alert_type risk) as of the run date, one row per condition:
--   plan_behind_pace: an active plan of a key account whose period holds the run date and
--     whose attainment_status (account_plan_attainment) is behind, i.e. pace_gap below
--     -plan_behind_pace_gap; high when the gap is below -alert_plan_behind_high_pace_gap and
--     the account is class A (the gap and the account's value), else medium. Subject: the plan.
--   competitor_in_key_accounts: a competitor new to the key accounts (first named in fewer
--     than alert_competitor_entry_min_accounts of them before the window) first named on an
--     opportunity of at least alert_competitor_entry_min_accounts key accounts within the last
--     alert_competitor_entry_days days (window (as_of - days, as_of]); one alert per key
--     account it entered in the window, high when that account already lost an opportunity
--     to it since, else medium. First named: the earliest closing date (the last update of an
--     open opportunity) of the account's opportunities naming it. Subject: the competitor.
-- Key accounts: class A or is_key_account. Columns: customer_id, rule_id, alert_type,
-- severity, alert_subject, reason, evidence.

{%- set base_currency = var('base_currency') %}
{%- set behind_gap = var('plan_behind_pace_gap') %}
{%- set high_gap = var('alert_plan_behind_high_pace_gap') %}
{%- set entry_days = var('alert_competitor_entry_days') | int %}
{%- set entry_min_accounts = var('alert_competitor_entry_min_accounts') | int %}

with

attainment as (

    select * from {{ ref('account_plan_attainment') }}

),

competitor_opportunities as (

    select * from {{ ref('int_competitor_opportunities') }}

),

opportunities as (

    select * from {{ ref('stg_crm__opportunities') }}

),

tiers as (

    select * from {{ ref('customer_tiers') }}

),

-- plan_behind_pace ----------------------------------------------------------------------

behind_plans as (

    select
        attainment.*,
        attainment.expected_attainment_share + attainment.pace_gap as attainment_share
    from attainment
    where
        attainment.attainment_status = 'behind'
        and attainment.plan_status = 'active'
        and attainment.is_key_account
        and attainment.customer_id is not null
        and attainment.period_start <= {{ as_of_date() }}
        and attainment.period_end >= {{ as_of_date() }}

),

plan_behind_pace as (

    select
        customer_id,
        'plan_behind_pace' as rule_id,
        'risk' as alert_type,
        case
            when abc_class = 'A' and pace_gap < -1.0 * ({{ high_gap }}) then 'high'
            else 'medium'
        end as severity,
        plan_id as alert_subject,
        'Plan ' || plan_id || ' (' || cast(period_start as {{ dbt.type_string() }}) || ' to '
        || cast(period_end as {{ dbt.type_string() }}) || ') is '
        || {{ rounded_integer_text('-100 * pace_gap') }}
        || ' points behind its pace: '
        || {{ rounded_integer_text('100 * attainment_share') }}
        || '% of the target reached, '
        || {{ rounded_integer_text('100 * expected_attainment_share') }}
        || '% expected by now.' as reason,
        {{ evidence_json([
            ('plan_id', 'plan_id', 'id'),
            ('period_start', 'cast(period_start as ' ~ dbt.type_string() ~ ')', 'date'),
            ('period_end', 'cast(period_end as ' ~ dbt.type_string() ~ ')', 'date'),
            ('attainment_share', round_to('attainment_share', 4), 'share'),
            ('expected_attainment_share', round_to('expected_attainment_share', 4), 'share'),
            ('pace_gap', round_to('pace_gap', 4), 'share'),
            ('revenue_target_base', round_to('revenue_target_base', 2), 'money', "'" ~ base_currency ~ "'"),
            ('revenue_to_date_base', round_to('revenue_to_date_base', 2), 'money', "'" ~ base_currency ~ "'"),
            ('forecast_margin_attainment_share', round_to('forecast_margin_attainment_share', 4), 'share'),
            ('abc_class', 'abc_class', 'id'),
            ('threshold_gap', behind_gap, 'share'),
        ]) }} as evidence
    from behind_plans

),

-- competitor_in_key_accounts ------------------------------------------------------------

named_in_key_accounts as (

    select
        competitor_opportunities.customer_id,
        competitor_opportunities.competitor,
        competitor_opportunities.outcome,
        coalesce(
            competitor_opportunities.closed_date, cast(opportunities.updated_at as date)
        ) as named_date
    from competitor_opportunities
    left join opportunities
        on competitor_opportunities.opportunity_id = opportunities.opportunity_id
    where
        competitor_opportunities.is_key_account
        and competitor_opportunities.customer_id is not null

),

entries as (

    select
        customer_id,
        competitor,
        min(named_date) as first_named_date,
        sum(case when outcome = 'lost' then 1 else 0 end) as opportunities_lost,
        count(*) as opportunity_count
    from named_in_key_accounts
    where named_date <= {{ as_of_date() }}
    group by customer_id, competitor

),

presence as (

    select
        entries.*,
        sum(case when entries.first_named_date <= {{ date_add_days(-entry_days, as_of_date()) }} then 1 else 0 end)
            over (partition by entries.competitor) as prior_account_count
    from entries

),

recent_entries as (

    select
        presence.*,
        {{ dbt.datediff('presence.first_named_date', as_of_date(), 'day') }} as days_since_entry,  -- noqa: LT05
        count(*) over (partition by presence.competitor) as entered_account_count
    from presence
    where presence.first_named_date > {{ date_add_days(-entry_days, as_of_date()) }}

),

competitor_in_key_accounts as (

    select
        recent_entries.customer_id,
        'competitor_in_key_accounts' as rule_id,
        'risk' as alert_type,
        case when recent_entries.opportunities_lost > 0 then 'high' else 'medium' end as severity,
        recent_entries.competitor as alert_subject,
        recent_entries.competitor || ' entered '
        || cast(recent_entries.entered_account_count as {{ dbt.type_string() }})
        || ' key accounts within {{ entry_days }} days, this one on '
        || cast(recent_entries.first_named_date as {{ dbt.type_string() }}) || ' ('
        || cast(recent_entries.opportunities_lost as {{ dbt.type_string() }})
        || ' opportunities lost to it since).' as reason,
        {{ evidence_json([
            ('competitor', 'recent_entries.competitor', 'text'),
            ('entered_account_count', 'recent_entries.entered_account_count', 'count'),
            ('window_days', entry_days, 'days'),
            ('first_named_date', 'cast(recent_entries.first_named_date as ' ~ dbt.type_string() ~ ')', 'date'),
            ('days_since_entry', 'recent_entries.days_since_entry', 'days'),
            ('opportunity_count', 'recent_entries.opportunity_count', 'count'),
            ('opportunities_lost', 'recent_entries.opportunities_lost', 'count'),
            ('gross_margin_t12m', round_to('tiers.gross_margin_t12m', 2), 'money', "'" ~ base_currency ~ "'"),
            ('prior_account_count', 'recent_entries.prior_account_count', 'count'),
            ('threshold_accounts', entry_min_accounts, 'count'),
        ]) }} as evidence
    from recent_entries
    left join tiers
        on recent_entries.customer_id = tiers.customer_id
    where
        recent_entries.entered_account_count >= {{ entry_min_accounts }}
        and recent_entries.prior_account_count < {{ entry_min_accounts }}

),

final as (

    select * from plan_behind_pace
    union all
    select * from competitor_in_key_accounts

)

select * from final
