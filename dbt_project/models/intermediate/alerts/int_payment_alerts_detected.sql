-- Payment alerts (alert_type payment) as of the run date, one row per condition:
--   overdue_invoices: a key account whose overdue amount (base currency, customer_facts)
--     exceeds alert_overdue_amount, or whose oldest overdue invoice is more than
--     alert_overdue_days days past due; high when both, else medium.
-- Key accounts: class A or is_key_account. Columns: customer_id, rule_id, alert_type,
-- severity, alert_subject, reason, evidence.

{%- set base_currency = var('base_currency') %}
{%- set max_amount = var('alert_overdue_amount') %}
{%- set max_days = var('alert_overdue_days') | int %}

with

tiers as (

    select * from {{ ref('customer_tiers') }}

),

facts as (

    select * from {{ ref('customer_facts') }}

),

overdue as (

    select
        facts.customer_id,
        facts.overdue_invoice_count,
        facts.overdue_amount_base,
        facts.max_days_overdue,
        facts.overdue_amount_base > {{ max_amount }} as is_over_amount,
        coalesce(facts.max_days_overdue > {{ max_days }}, false) as is_over_age
    from facts
    inner join tiers
        on facts.customer_id = tiers.customer_id
    where
        {{ is_alert_key_account('tiers') }}
        and facts.overdue_invoice_count > 0

),

overdue_invoices as (

    select
        customer_id,
        'overdue_invoices' as rule_id,
        'payment' as alert_type,
        case when is_over_amount and is_over_age then 'high' else 'medium' end as severity,
        cast(null as {{ dbt.type_string() }}) as alert_subject,
        '{{ base_currency }} ' || {{ format_thousands('overdue_amount_base') }} || ' overdue on '
        || cast(overdue_invoice_count as {{ dbt.type_string() }})
        || ' invoice(s); the oldest is ' || cast(max_days_overdue as {{ dbt.type_string() }})
        || ' days past due (limits {{ base_currency }} '
        || {{ format_thousands(max_amount) }} || ' or {{ max_days }} days).' as reason,
        {{ evidence_json([
            ('overdue_amount_base', round_to('overdue_amount_base', 2), 'money', "'" ~ base_currency ~ "'"),
            ('overdue_invoice_count', 'overdue_invoice_count', 'count'),
            ('max_days_overdue', 'max_days_overdue', 'days'),
            ('threshold_amount', max_amount, 'money', "'" ~ base_currency ~ "'"),
            ('threshold_days', max_days, 'days'),
        ]) }} as evidence
    from overdue
    where is_over_amount or is_over_age

),

final as (

    select * from overdue_invoices

)

select * from final
