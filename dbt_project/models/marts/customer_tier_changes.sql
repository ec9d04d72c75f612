-- One row per change of a customer's ABC class, value-matrix quadrant or key-account flag
-- recorded in the snapshot snap_customer_tiers, with the run date it was first seen, for
-- migration charts between classes over time. A customer's first recorded version is not
-- a change. Only versions recorded on or before the run date count, so a recompute of a
-- past date lists the changes known then.

with

history as (

    select * from {{ ref('snap_customer_tiers') }}
    where cast(dbt_valid_from as date) <= {{ as_of_date() }}

),

sequenced as (

    select
        customer_id,
        cast(dbt_valid_from as date) as change_date,
        abc_class,
        value_quadrant,
        is_key_account,
        key_account_score,
        lag(abc_class) over (partition by customer_id order by dbt_valid_from) as previous_abc_class,
        lag(value_quadrant) over (partition by customer_id order by dbt_valid_from) as previous_value_quadrant,
        lag(is_key_account) over (partition by customer_id order by dbt_valid_from) as previous_is_key_account,
        lag(cast(dbt_valid_from as date)) over (partition by customer_id order by dbt_valid_from)
            as previous_change_date
    from history

),

final as (

    select
        md5(customer_id || '|' || cast(change_date as {{ dbt.type_string() }})) as tier_change_id,
        customer_id,
        change_date,
        previous_change_date,
        previous_abc_class,
        abc_class,
        previous_value_quadrant,
        value_quadrant,
        previous_is_key_account,
        is_key_account,
        key_account_score,
        previous_abc_class <> abc_class as is_abc_class_changed,
        previous_value_quadrant <> value_quadrant as is_quadrant_changed,
        previous_is_key_account <> is_key_account as is_key_account_changed,
        case
            when abc_class < previous_abc_class then 'promotion'
            when abc_class > previous_abc_class then 'demotion'
            else 'none'
        end as abc_change_direction
    from sequenced
    where previous_abc_class is not null

)

select * from final
