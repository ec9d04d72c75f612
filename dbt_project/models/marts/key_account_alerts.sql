-- One row per key-account condition detected as of the run date (docs/CONTRACTS.md): the
-- union of the rule families in models/intermediate/alerts (their headers document each
-- rule, its severity and its vars), with the dedup key, the alert id and the routing
-- columns of the customer's owner. A rule whose input entity never landed for the run
-- (int_data_coverage, check_type alert_rule, is_active false) is dropped: a CRM without
-- activities must not read as "no touchpoint" on every account.
--   dedup_key = customer_id|rule_id[|subject], the subject (an opportunity, ticket, contact
--     or new owner) separating conditions of one rule on one customer;
--   alert_id  = md5(dedup_key || as_of_date as YYYY-MM-DD).

with

relationship_alerts as (

    select * from {{ ref('int_relationship_alerts_detected') }}

),

risk_alerts as (

    select * from {{ ref('int_risk_alerts_detected') }}

),

service_alerts as (

    select * from {{ ref('int_service_alerts_detected') }}

),

payment_alerts as (

    select * from {{ ref('int_payment_alerts_detected') }}

),

lifecycle_alerts as (

    select * from {{ ref('int_lifecycle_alerts_detected') }}

),

tier_alerts as (

    select * from {{ ref('int_tier_alerts_detected') }}

),

economics_alerts as (

    select * from {{ ref('int_economics_alerts_detected') }}

),

programme_alerts as (

    select * from {{ ref('int_programme_alerts_detected') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

inactive_rules as (

    select check_name as rule_id
    from {{ ref('int_data_coverage') }}
    where check_type = 'alert_rule' and not is_active

),

all_alerts as (

    select * from relationship_alerts
    union all
    select * from risk_alerts
    union all
    select * from service_alerts
    union all
    select * from payment_alerts
    union all
    select * from lifecycle_alerts
    union all
    select * from tier_alerts
    union all
    select * from economics_alerts
    union all
    select * from programme_alerts

),

keyed as (

    select
        all_alerts.*,
        all_alerts.customer_id || '|' || all_alerts.rule_id
        || coalesce('|' || all_alerts.alert_subject, '') as dedup_key
    from all_alerts
    where
        all_alerts.customer_id is not null
        and all_alerts.rule_id not in (select inactive_rules.rule_id from inactive_rules)

),

final as (

    select
        {{ as_of_date() }} as as_of_date,
        md5(keyed.dedup_key || '{{ var("as_of_date") }}') as alert_id,
        keyed.dedup_key,
        keyed.customer_id,
        customers.account_id,
        coalesce(customers.customer_name, keyed.customer_id) as customer_name,
        keyed.rule_id,
        keyed.alert_type,
        keyed.severity,
        keyed.reason,
        keyed.evidence,
        customers.owner_id,
        customers.owner_name,
        customers.owner_email,
        coalesce(customers.owner_locale, 'en') as owner_locale,
        coalesce(customers.owner_is_active, false) as owner_is_active,
        customers.manager_email
    from keyed
    left join customers
        on keyed.customer_id = customers.customer_id

)

select * from final
