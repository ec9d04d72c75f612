-- Service alerts (alert_type service) as of the run date, one row per condition:
--   complaint_past_sla: a complaint of a key account opened on or before the run date, not
--     resolved by it, and open for more days than the SLA of its priority
--     (alert_complaint_sla_days; an unknown priority gets the medium SLA); high from twice
--     the SLA, else medium. Subject: the ticket.
-- Key accounts: class A or is_key_account. Columns: customer_id, rule_id, alert_type,
-- severity, alert_subject, reason, evidence.

{%- set sla_days = var('alert_complaint_sla_days') %}

with

tiers as (

    select * from {{ ref('customer_tiers') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

tickets as (

    select * from {{ ref('stg_crm__tickets') }}

),

key_accounts as (

    select
        tiers.customer_id,
        customers.account_id
    from tiers
    inner join customers
        on tiers.customer_id = customers.customer_id
    where {{ is_alert_key_account('tiers') }}

),

open_complaints as (

    select
        key_accounts.customer_id,
        tickets.ticket_id,
        coalesce(tickets.priority, 'unknown') as priority,
        tickets.status,
        cast(tickets.opened_at as date) as opened_date,
        {{ dbt.datediff('cast(tickets.opened_at as date)', as_of_date(), 'day') }} as days_open,  -- noqa: LT05
        case tickets.priority
            {%- for priority, days in sla_days.items() %}
                when '{{ priority }}' then {{ days | int }}
            {%- endfor %}
            else {{ sla_days.get('medium', 10) | int }}
        end as sla_days
    from tickets
    inner join key_accounts
        on tickets.account_id = key_accounts.account_id
    where
        tickets.category = 'complaint'
        and cast(tickets.opened_at as date) <= {{ as_of_date() }}
        and (tickets.resolved_at is null or cast(tickets.resolved_at as date) > {{ as_of_date() }})

),

complaint_past_sla as (

    select
        customer_id,
        'complaint_past_sla' as rule_id,
        'service' as alert_type,
        case when days_open >= 2 * sla_days then 'high' else 'medium' end as severity,
        ticket_id as alert_subject,
        upper(substr(priority, 1, 1)) || substr(priority, 2) || '-priority complaint ' || ticket_id
        || ' open for ' || cast(days_open as {{ dbt.type_string() }}) || ' days (since '
        || cast(opened_date as {{ dbt.type_string() }}) || '), past its '
        || cast(sla_days as {{ dbt.type_string() }}) || '-day SLA by '
        || cast(days_open - sla_days as {{ dbt.type_string() }})
        || case when days_open - sla_days = 1 then ' day.' else ' days.' end as reason,
        {{ evidence_json([
            ('ticket_id', 'ticket_id', 'id'),
            ('priority', 'priority', 'code', "'priority'"),
            ('status', 'status', 'code', "'ticket_status'"),
            ('opened_date', 'cast(opened_date as ' ~ dbt.type_string() ~ ')', 'date'),
            ('days_open', 'days_open', 'days'),
            ('sla_days', 'sla_days', 'days'),
            ('days_past_sla', 'days_open - sla_days', 'days'),
        ]) }} as evidence
    from open_complaints
    where days_open > sla_days

),

final as (

    select * from complaint_past_sla

)

select * from final
