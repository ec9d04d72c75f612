-- Which checks the data can support as of the run date: one row per alert rule or health
-- score component whose input is an entity a source may not deliver (a CRM without
-- activities, tickets or surveys; an ERP export without invoices). The entity counts as
-- delivered when at least one of its rows landed on or before the run date (its staging
-- model, latest version per key, is not empty); a check on an entity never delivered is
-- inactive:
--   alert_rule:   the rule raises no alert for any account (key_account_alerts drops it)
--                 instead of reading "no data" as "no activity", "no complaint" and so on;
--   health_score: the component is null (unknown) in customer_health, and the health score
--                 is weighted over the known components only.
-- The data team gets one data-coverage warning per run listing the inactive checks.

with

entities as (

    select
        'crm/activities' as input_entity,
        count(*) as input_row_count
    from {{ ref('stg_crm__activities') }}
    union all
    select
        'crm/contacts' as input_entity,
        count(*) as input_row_count
    from {{ ref('stg_crm__contacts') }}
    union all
    select
        'crm/opportunities' as input_entity,
        count(*) as input_row_count
    from {{ ref('stg_crm__opportunities') }}
    union all
    select
        'crm/tickets' as input_entity,
        count(*) as input_row_count
    from {{ ref('stg_crm__tickets') }}
    union all
    select
        'crm/surveys' as input_entity,
        count(*) as input_row_count
    from {{ ref('stg_crm__surveys') }}
    union all
    select
        'erp/invoices' as input_entity,
        count(*) as input_row_count
    from {{ ref('stg_erp__invoices') }}

),

checks as (

    select
        listed.check_type,
        listed.check_name,
        listed.input_entity
    from (
        values
        ('alert_rule', 'no_touchpoint', 'crm/activities'),
        ('alert_rule', 'key_contact_left', 'crm/contacts'),
        ('alert_rule', 'competitor_loss', 'crm/opportunities'),
        ('alert_rule', 'complaint_past_sla', 'crm/tickets'),
        ('alert_rule', 'overdue_invoices', 'erp/invoices'),
        ('health_score', 'engagement_recency_score', 'crm/activities'),
        ('health_score', 'open_complaints_score', 'crm/tickets'),
        ('health_score', 'satisfaction_score', 'crm/surveys'),
        ('health_score', 'payment_discipline_score', 'erp/invoices')
    ) as listed (check_type, check_name, input_entity)

),

final as (

    select
        checks.check_type,
        checks.check_name,
        checks.input_entity,
        cast(entities.input_row_count as {{ dbt.type_bigint() }}) as input_row_count,
        entities.input_row_count > 0 as is_active,
        case
            when entities.input_row_count = 0
                then
                    checks.check_name || ' (' || replace(checks.check_type, '_', ' ') || ') inactive: no '
                    || checks.input_entity || ' row ever landed up to {{ var("as_of_date") }}'
        end as inactive_reason
    from checks
    inner join entities
        on checks.input_entity = entities.input_entity

)

select * from final
