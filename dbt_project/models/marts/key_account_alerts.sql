-- One row per key-account condition detected as of the run date (docs/CONTRACTS.md).
-- Rules:
--   dropped_out_of_class_a (tier_change): class A on the comparison window, B or C now;
--     high when now C, else medium.
--   revenue_decline (risk): class A now or on the comparison window, and trailing revenue
--     changed by <= -alert_revenue_decline_share against the prior window; high when the
--     customer is class A now and fell by more than alert_revenue_decline_high_share.

{%- set base_currency = var('base_currency') %}

with

tiers as (

    select * from {{ ref('customer_tiers') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

dropped_out_of_class_a as (

    select
        customer_id,
        'dropped_out_of_class_a' as rule_id,
        'tier_change' as alert_type,
        case when abc_class = 'C' then 'high' else 'medium' end as severity,
        'Dropped out of class A to class ' || abc_class
        || ': trailing 12-month {{ abc_measure_prefix() | replace("_", " ") }} {{ base_currency }} '
        || {{ format_thousands('measure_value') }}
        || ', rank ' || cast(measure_rank as {{ dbt.type_string() }}) || '.' as reason,
        {{ json_object_text([
            ('previous_abc_class', 'previous_abc_class'),
            ('abc_class', 'abc_class'),
            ('abc_measure', 'abc_measure'),
            ('measure_value', 'round(measure_value, 2)'),
            ('measure_rank', 'measure_rank'),
            ('cumulative_share', 'round(cumulative_share, 4)'),
            ('base_currency', "'" ~ base_currency ~ "'"),
        ]) }} as evidence
    from tiers
    where previous_abc_class = 'A' and abc_class <> 'A'

),

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
        'Trailing 12-month revenue fell '
        || cast(cast(round(-100 * revenue_change_share, 0) as {{ dbt.type_int() }}) as {{ dbt.type_string() }})
        || '% ({{ base_currency }} ' || {{ format_thousands('revenue_prior_12m') }}
        || ' -> {{ base_currency }} ' || {{ format_thousands('revenue_t12m') }} || ').' as reason,
        {{ json_object_text([
            ('revenue_t12m', 'round(revenue_t12m, 2)'),
            ('revenue_prior_12m', 'round(revenue_prior_12m, 2)'),
            ('revenue_change_share', 'round(revenue_change_share, 4)'),
            ('abc_class', 'abc_class'),
            ('previous_abc_class', 'previous_abc_class'),
            ('threshold_share', var('alert_revenue_decline_share')),
            ('base_currency', "'" ~ base_currency ~ "'"),
        ]) }} as evidence
    from tiers
    where
        (abc_class = 'A' or previous_abc_class = 'A')
        and revenue_change_share <= -1.0 * ({{ var('alert_revenue_decline_share') }})

),

all_alerts as (

    select * from dropped_out_of_class_a
    union all
    select * from revenue_decline

),

final as (

    select
        {{ as_of_date() }} as as_of_date,
        md5(all_alerts.customer_id || '|' || all_alerts.rule_id || '{{ var("as_of_date") }}') as alert_id,
        all_alerts.customer_id || '|' || all_alerts.rule_id as dedup_key,
        all_alerts.customer_id,
        customers.account_id,
        coalesce(customers.customer_name, all_alerts.customer_id) as customer_name,
        all_alerts.rule_id,
        all_alerts.alert_type,
        all_alerts.severity,
        all_alerts.reason,
        all_alerts.evidence,
        customers.owner_id,
        customers.owner_name,
        customers.owner_email,
        coalesce(customers.owner_locale, 'en') as owner_locale,
        coalesce(customers.owner_is_active, false) as owner_is_active,
        customers.manager_email
    from all_alerts
    left join customers
        on all_alerts.customer_id = customers.customer_id

)

select * from final
