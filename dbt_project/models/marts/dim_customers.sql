-- One row per customer known to either system as of the run date: every CRM account
-- (prospects included) joined to its ERP customer and owner, plus ERP customers that no
-- CRM account points to (no owner; their alerts go to sales ops).
-- customer_key is the account_id when there is an account, else 'erp:' || customer_id.

with

accounts as (

    select * from {{ ref('stg_crm__accounts') }}

),

owners as (

    select * from {{ ref('int_owners_enriched') }}

),

customers as (

    select * from {{ ref('stg_erp__customers') }}

),

orders as (

    select * from {{ ref('int_order_lines_converted') }}

),

customer_orders as (

    select
        customer_id,
        min(order_date) as first_order_date,
        max(order_date) as last_order_date
    from orders
    group by customer_id

),

-- When several accounts point to one ERP customer, one carries it, by this rule: a live
-- account before a deleted one, then the oldest created_at (unknown last), then the
-- lowest account_id. The others keep their CRM data without the ERP customer
-- (erp_link_status duplicate_link; listed in data_quality_issues).
accounts_ranked as (

    select
        accounts.*,
        row_number() over (
            partition by accounts.erp_customer_id
            order by coalesce(accounts.is_deleted, false), accounts.created_at nulls last, accounts.account_id
        ) as erp_link_rank
    from accounts

),

accounts_linked as (

    select
        accounts_ranked.*,
        case
            when accounts_ranked.erp_link_rank = 1 then customers.customer_id
        end as linked_customer_id,
        case
            when accounts_ranked.erp_customer_id is null then 'no_erp_id'
            when customers.customer_id is null then 'erp_customer_missing'
            when accounts_ranked.erp_link_rank > 1 then 'duplicate_link'
            else 'linked'
        end as erp_link_status
    from accounts_ranked
    left join customers
        on accounts_ranked.erp_customer_id = customers.customer_id

),

unlinked_customers as (

    select customers.*
    from customers
    left join accounts_linked
        on customers.customer_id = accounts_linked.linked_customer_id
    where accounts_linked.account_id is null

),

joined as (

    select
        accounts_linked.account_id as customer_key,
        accounts_linked.account_id,
        accounts_linked.linked_customer_id as customer_id,
        coalesce(accounts_linked.account_name, customers.customer_name) as customer_name,
        accounts_linked.account_name,
        customers.customer_name as erp_customer_name,
        accounts_linked.industry,
        accounts_linked.region,
        accounts_linked.country,
        accounts_linked.employee_count,
        accounts_linked.parent_account_id,
        accounts_linked.owner_id,
        accounts_linked.owner_assigned_at,
        customers.tax_id,
        customers.currency,
        customers.payment_terms_days,
        customers.credit_limit,
        accounts_linked.created_at as account_created_at,
        customers.created_at as customer_created_at,
        coalesce(accounts_linked.is_deleted, false) as is_deleted,
        accounts_linked.erp_customer_id as crm_erp_customer_id,
        accounts_linked.erp_link_status
    from accounts_linked
    left join customers
        on accounts_linked.linked_customer_id = customers.customer_id

    union all

    select
        'erp:' || unlinked_customers.customer_id as customer_key,
        cast(null as {{ dbt.type_string() }}) as account_id,
        unlinked_customers.customer_id,
        unlinked_customers.customer_name,
        cast(null as {{ dbt.type_string() }}) as account_name,
        unlinked_customers.customer_name as erp_customer_name,
        cast(null as {{ dbt.type_string() }}) as industry,
        cast(null as {{ dbt.type_string() }}) as region,
        cast(null as {{ dbt.type_string() }}) as country,
        cast(null as {{ dbt.type_int() }}) as employee_count,
        cast(null as {{ dbt.type_string() }}) as parent_account_id,
        cast(null as {{ dbt.type_string() }}) as owner_id,
        cast(null as {{ dbt.type_timestamp() }}) as owner_assigned_at,
        unlinked_customers.tax_id,
        unlinked_customers.currency,
        unlinked_customers.payment_terms_days,
        unlinked_customers.credit_limit,
        cast(null as {{ dbt.type_timestamp() }}) as account_created_at,
        unlinked_customers.created_at as customer_created_at,
        false as is_deleted,
        cast(null as {{ dbt.type_string() }}) as crm_erp_customer_id,
        'erp_only' as erp_link_status
    from unlinked_customers

),

final as (

    select
        joined.customer_key,
        joined.account_id,
        joined.customer_id,
        joined.customer_name,
        joined.account_name,
        joined.erp_customer_name,
        joined.industry,
        joined.region,
        joined.country,
        joined.employee_count,
        joined.parent_account_id,
        joined.owner_id,
        owners.owner_name,
        owners.owner_email,
        coalesce(owners.locale, 'en') as owner_locale,
        coalesce(owners.is_active, false) as owner_is_active,
        owners.manager_email,
        owners.team as owner_team,
        coalesce(owners.is_in_owner_directory, false) as owner_directory_match,
        joined.owner_assigned_at,
        joined.tax_id,
        joined.currency,
        joined.payment_terms_days,
        joined.credit_limit,
        joined.account_created_at,
        joined.customer_created_at,
        customer_orders.first_order_date,
        customer_orders.last_order_date,
        customer_orders.customer_id is null as is_prospect,
        joined.account_id is not null as has_crm_account,
        joined.is_deleted,
        joined.crm_erp_customer_id,
        joined.erp_link_status
    from joined
    left join owners
        on joined.owner_id = owners.owner_id
    left join customer_orders
        on joined.customer_id = customer_orders.customer_id

)

select * from final
