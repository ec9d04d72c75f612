with

source as (

    {{ latest_landed('crm', 'owners', 'owner_id') }}

),

renamed as (

    select
        {{ landed_text('owner_id') }} as owner_id,
        {{ landed_text('full_name') }} as owner_name,
        {{ landed_text('email') }} as owner_email,
        {{ landed_text('manager_email') }} as manager_email,
        {{ landed_text('locale') }} as locale,
        {{ landed_boolean('is_active') }} as is_active,
        cast(_batch_id as {{ dbt.type_string() }}) as landed_batch_id,
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as landed_at,
        {{ landed_partition_date('as_of') }} as landed_as_of_date
    from source

)

select * from renamed
