-- Relationship alerts (alert_type relationship) as of the run date, one row per condition:
--   account_manager_change: a key account whose owner was assigned within
--     alert_account_manager_change_days days, not at the account's creation (a hand-over);
--     high on a class A account, else medium. Subject: the new owner.
--   key_contact_left: a decision maker of a key account became inactive within
--     alert_key_contact_left_days days; high when no active decision maker remains, else
--     medium. Subject: the contact.
--   no_touchpoint: no activity for longer than the account's ABC class allows
--     (alert_no_touchpoint_max_days; classes not listed have no limit), or none ever; high
--     beyond twice the limit or with no activity at all, else medium.
-- Key accounts: class A or is_key_account. Columns: customer_id, rule_id, alert_type,
-- severity, alert_subject, reason, evidence.

{%- set manager_days = var('alert_account_manager_change_days') | int %}
{%- set contact_days = var('alert_key_contact_left_days') | int %}
{%- set touchpoint_limits = var('alert_no_touchpoint_max_days') %}

with

tiers as (

    select * from {{ ref('customer_tiers') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

facts as (

    select * from {{ ref('customer_facts') }}

),

contacts as (

    select * from {{ ref('stg_crm__contacts') }}

),

accounts_in_scope as (

    select
        tiers.customer_id,
        tiers.abc_class,
        {{ is_alert_key_account('tiers') }} as is_key_account,
        customers.account_id,
        customers.owner_id,
        customers.owner_name,
        customers.owner_assigned_at,
        customers.account_created_at
    from tiers
    inner join customers
        on tiers.customer_id = customers.customer_id
    where customers.account_id is not null

),

-- account_manager_change ----------------------------------------------------------------

manager_changes as (

    select
        customer_id,
        abc_class,
        owner_id,
        owner_name,
        cast(owner_assigned_at as date) as owner_assigned_date,
        {{ dbt.datediff('cast(owner_assigned_at as date)', as_of_date(), 'day') }} as days_since_assigned  -- noqa: LT05
    from accounts_in_scope
    where
        is_key_account
        and owner_assigned_at is not null
        and cast(owner_assigned_at as date) > {{ date_add_days(-manager_days, as_of_date()) }}
        and cast(owner_assigned_at as date) <= {{ as_of_date() }}
        -- an owner set within a day of the account's creation is the first owner, not a change
        and (account_created_at is null or owner_assigned_at > {{ dbt.dateadd('day', 1, 'account_created_at') }})

),

account_manager_change as (

    select
        customer_id,
        'account_manager_change' as rule_id,
        'relationship' as alert_type,
        case when abc_class = 'A' then 'high' else 'medium' end as severity,
        coalesce(owner_id, 'none') as alert_subject,
        'Account manager changed '
        || cast(days_since_assigned as {{ dbt.type_string() }})
        || case when days_since_assigned = 1 then ' day' else ' days' end || ' ago (on '
        || cast(owner_assigned_date as {{ dbt.type_string() }}) || '): the account is now owned by '
        || coalesce(owner_name, 'nobody') || '; plan the hand-over with the customer.' as reason,
        {{ evidence_json([
            ('owner_id', 'owner_id', 'id'),
            ('owner_name', 'owner_name', 'text'),
            ('owner_assigned_date', 'cast(owner_assigned_date as ' ~ dbt.type_string() ~ ')', 'date'),
            ('days_since_assigned', 'days_since_assigned', 'days'),
            ('abc_class', 'abc_class', 'id'),
            ('window_days', manager_days, 'days'),
        ]) }} as evidence
    from manager_changes

),

-- key_contact_left ----------------------------------------------------------------------

decision_makers as (

    select
        account_id,
        sum(case when is_active then 1 else 0 end) as active_decision_maker_count
    from contacts
    where is_decision_maker
    group by account_id

),

departures as (

    select
        accounts_in_scope.customer_id,
        contacts.contact_id,
        contacts.role,
        cast(contacts.updated_at as date) as left_date,
        {{ dbt.datediff('cast(contacts.updated_at as date)', as_of_date(), 'day') }} as days_since_left,  -- noqa: LT05
        coalesce(decision_makers.active_decision_maker_count, 0) as active_decision_maker_count
    from contacts
    inner join accounts_in_scope
        on contacts.account_id = accounts_in_scope.account_id
    left join decision_makers
        on contacts.account_id = decision_makers.account_id
    where
        accounts_in_scope.is_key_account
        and contacts.is_decision_maker
        and not coalesce(contacts.is_active, true)
        and cast(contacts.updated_at as date) > {{ date_add_days(-contact_days, as_of_date()) }}
        and cast(contacts.updated_at as date) <= {{ as_of_date() }}

),

key_contact_left as (

    select
        customer_id,
        'key_contact_left' as rule_id,
        'relationship' as alert_type,
        case when active_decision_maker_count = 0 then 'high' else 'medium' end as severity,
        contact_id as alert_subject,
        'Decision maker (' || coalesce(role, 'role unknown') || ') left: inactive in the CRM since '
        || cast(left_date as {{ dbt.type_string() }}) || ', '
        || cast(days_since_left as {{ dbt.type_string() }})
        || case when days_since_left = 1 then ' day' else ' days' end || ' ago; '
        || cast(active_decision_maker_count as {{ dbt.type_string() }})
        || ' active decision maker(s) remain.' as reason,
        {{ evidence_json([
            ('contact_id', 'contact_id', 'id'),
            ('role', 'role', 'text'),
            ('left_date', 'cast(left_date as ' ~ dbt.type_string() ~ ')', 'date'),
            ('days_since_left', 'days_since_left', 'days'),
            ('active_decision_maker_count', 'active_decision_maker_count', 'count'),
            ('window_days', contact_days, 'days'),
        ]) }} as evidence
    from departures

),

-- no_touchpoint -------------------------------------------------------------------------

touchpoints as (

    select
        accounts_in_scope.customer_id,
        accounts_in_scope.abc_class,
        cast(facts.last_touchpoint_at as date) as last_touchpoint_date,
        facts.days_since_last_touchpoint,
        case accounts_in_scope.abc_class
            {%- for abc_class, max_days in touchpoint_limits.items() %}
                when '{{ abc_class }}' then {{ max_days | int }}
            {%- endfor %}
        end as max_days
    from accounts_in_scope
    left join facts
        on accounts_in_scope.customer_id = facts.customer_id

),

no_touchpoint as (

    select
        customer_id,
        'no_touchpoint' as rule_id,
        'relationship' as alert_type,
        case
            when days_since_last_touchpoint is null or days_since_last_touchpoint > 2 * max_days then 'high'
            else 'medium'
        end as severity,
        cast(null as {{ dbt.type_string() }}) as alert_subject,
        case
            when days_since_last_touchpoint is null
                then
                    'No touchpoint recorded for this class ' || abc_class || ' account (limit '
                    || cast(max_days as {{ dbt.type_string() }}) || ' days).'
            else
                'No touchpoint for ' || cast(days_since_last_touchpoint as {{ dbt.type_string() }})
                || ' days (last on ' || cast(last_touchpoint_date as {{ dbt.type_string() }})
                || '); class ' || abc_class || ' accounts need one every '
                || cast(max_days as {{ dbt.type_string() }}) || ' days.'
        end as reason,
        {{ evidence_json([
            ('days_since_last_touchpoint', 'days_since_last_touchpoint', 'days'),
            ('last_touchpoint_date', 'cast(last_touchpoint_date as ' ~ dbt.type_string() ~ ')', 'date'),
            ('abc_class', 'abc_class', 'id'),
            ('max_days', 'max_days', 'days'),
        ]) }} as evidence
    from touchpoints
    where
        max_days is not null
        and (days_since_last_touchpoint is null or days_since_last_touchpoint > max_days)

),

final as (

    select * from account_manager_change
    union all
    select * from key_contact_left
    union all
    select * from no_touchpoint

)

select * from final
