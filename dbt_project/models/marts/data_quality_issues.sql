-- One row per data-quality problem of the run that the marts work around instead of
-- failing on one row, each naming its entity, key and reason, with the order lines and
-- revenue it concerns, so nothing is dropped without being counted:
--   order_customer_missing   an order whose customer is not in the ERP: its lines are not
--                            in fct_order_lines; their revenue is here (amount, revenue_base)
--   order_line_order_missing an order line whose order is not in the ERP: no date or
--                            currency, so only the amount in the order's (unknown) currency
--   fx_rate_stale            an fx rate that converted lines more than var
--                            fx_max_rate_age_days from their order date (lines flagged in
--                            fct_order_lines.is_fx_rate_stale)
--   owner_email_malformed    an owner whose e-mail is not an address: routing sends the
--                            alerts of the owner's accounts to sales ops
--   crm_erp_customer_missing a CRM account pointing to an ERP id not in the ERP
--   crm_erp_link_duplicate   a CRM account pointing to an ERP customer another account
--                            carries (rule in dim_customers)
-- Validation (expectations/data_quality_issues.py) warns with the keys of each kind.

{%- set max_age = var('fx_max_rate_age_days') | int %}

with

erp_customers as (

    select customer_id from {{ ref('stg_erp__customers') }}

),

orders as (

    select order_id from {{ ref('stg_erp__orders') }}

),

order_lines as (

    select * from {{ ref('stg_erp__order_lines') }}

),

converted_lines as (

    select * from {{ ref('int_order_lines_converted') }}

),

fact_lines as (

    select * from {{ ref('fct_order_lines') }}

),

owners as (

    select * from {{ ref('stg_crm__owners') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

orders_without_customer as (

    select
        'order_customer_missing' as issue_type,
        'order' as entity,
        converted_lines.order_id as entity_key,
        converted_lines.customer_id as related_key,
        'customer ' || coalesce(converted_lines.customer_id, '(none)')
        || ' of the order is not in the ERP customers: its lines are left out of fct_order_lines'
            as reason,
        count(*) as line_count,
        {{ exact_sum('converted_lines.quantity * converted_lines.unit_price * (1 - converted_lines.discount_pct)') }}
            as amount,
        converted_lines.currency,
        {{ exact_sum('converted_lines.revenue_base') }} as revenue_base
    from converted_lines
    left join erp_customers
        on converted_lines.customer_id = erp_customers.customer_id
    where erp_customers.customer_id is null
    group by converted_lines.order_id, converted_lines.customer_id, converted_lines.currency

),

lines_without_order as (

    select
        'order_line_order_missing' as issue_type,
        'order_line' as entity,
        order_lines.order_line_id as entity_key,
        order_lines.order_id as related_key,
        'order ' || coalesce(order_lines.order_id, '(none)')
        || ' of the line is not in the ERP orders: no date or currency, left out of fct_order_lines'
            as reason,
        1 as line_count,
        order_lines.quantity * order_lines.unit_price * (1 - coalesce(order_lines.discount_pct, 0)) as amount,
        cast(null as {{ dbt.type_string() }}) as currency,
        cast(null as {{ type_double() }}) as revenue_base
    from order_lines
    left join orders
        on order_lines.order_id = orders.order_id
    where orders.order_id is null

),

stale_fx_rates as (

    select
        'fx_rate_stale' as issue_type,
        'fx_rate' as entity,
        fact_lines.currency || ' ' || cast(fact_lines.fx_rate_date as {{ dbt.type_string() }}) as entity_key,
        fact_lines.currency as related_key,
        'rate of ' || cast(fact_lines.fx_rate_date as {{ dbt.type_string() }})
        || ' converts orders of ' || cast(min(fact_lines.order_date) as {{ dbt.type_string() }})
        || ' to ' || cast(max(fact_lines.order_date) as {{ dbt.type_string() }})
        || ', up to ' || cast(max(fact_lines.fx_rate_age_days) as {{ dbt.type_string() }})
        || ' days away (fx_max_rate_age_days = {{ max_age }})' as reason,
        count(*) as line_count,
        {{ exact_sum('fact_lines.quantity * fact_lines.unit_price * (1 - fact_lines.discount_pct)') }} as amount,
        fact_lines.currency,
        {{ exact_sum('fact_lines.revenue_base') }} as revenue_base
    from fact_lines
    where fact_lines.is_fx_rate_stale
    group by fact_lines.currency, fact_lines.fx_rate_date

),

malformed_owner_emails as (

    select
        'owner_email_malformed' as issue_type,
        'owner' as entity,
        owner_id as entity_key,
        owner_email as related_key,
        'e-mail "' || owner_email || '" is not an address: alerts of the owner''s accounts go to sales ops'
            as reason,
        0 as line_count,
        cast(null as {{ type_double() }}) as amount,
        cast(null as {{ dbt.type_string() }}) as currency,
        cast(null as {{ type_double() }}) as revenue_base
    from owners
    where owner_email is not null and not {{ regex_matches('owner_email', "'^[^@\\s]+@[^@\\s]+$'") }}

),

account_links as (

    select
        case customers.erp_link_status
            when 'erp_customer_missing' then 'crm_erp_customer_missing'
            else 'crm_erp_link_duplicate'
        end as issue_type,
        'account' as entity,
        customers.account_id as entity_key,
        customers.crm_erp_customer_id as related_key,
        'points to ERP customer ' || customers.crm_erp_customer_id
        || case customers.erp_link_status
            when 'erp_customer_missing' then ', which is not in the ERP customers'
            else ', which account ' || coalesce(carriers.account_id, '(none)') || ' carries'
        end as reason,
        0 as line_count,
        cast(null as {{ type_double() }}) as amount,
        cast(null as {{ dbt.type_string() }}) as currency,
        cast(null as {{ type_double() }}) as revenue_base
    from customers
    left join customers as carriers
        on
            customers.crm_erp_customer_id = carriers.customer_id
            and carriers.erp_link_status = 'linked'
    where customers.erp_link_status in ('erp_customer_missing', 'duplicate_link')

),

issues as (

    select * from orders_without_customer
    union all
    select * from lines_without_order
    union all
    select * from stale_fx_rates
    union all
    select * from malformed_owner_emails
    union all
    select * from account_links

),

final as (

    select
        md5(issue_type || '|' || coalesce(entity_key, '')) as issue_id,
        {{ as_of_date() }} as as_of_date,
        issue_type,
        entity,
        entity_key,
        related_key,
        reason,
        cast(line_count as integer) as line_count,
        cast(amount as {{ type_double() }}) as amount,
        currency,
        cast(revenue_base as {{ type_double() }}) as revenue_base
    from issues

)

select * from final
