with

source as (

    {{ latest_landed('crm', 'activities', 'activity_id') }}

),

renamed as (

    select
        {{ landed_text('activity_id') }} as activity_id,
        {{ landed_text('account_id') }} as account_id,
        {{ landed_text('owner_id') }} as owner_id,
        lower({{ landed_text('activity_type') }}) as activity_type,
        {{ landed_timestamp('occurred_at') }} as occurred_at,
        cast(_batch_id as {{ dbt.type_string() }}) as landed_batch_id,
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as landed_at,
        {{ landed_partition_date('as_of') }} as landed_as_of_date
    from source

)

select * from renamed
