with

source as (

    {{ latest_landed('crm', 'contacts', 'contact_id') }}

),

renamed as (

    select
        {{ landed_text('contact_id') }} as contact_id,
        {{ landed_text('account_id') }} as account_id,
        {{ landed_text('full_name') }} as contact_name,
        {{ landed_text('role') }} as role,
        {{ landed_boolean('is_decision_maker') }} as is_decision_maker,
        {{ landed_boolean('is_active') }} as is_active,
        {{ landed_timestamp('updated_at') }} as updated_at,
        cast(_batch_id as {{ dbt.type_string() }}) as landed_batch_id,
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as landed_at,
        {{ landed_partition_date('as_of') }} as landed_as_of_date
    from source

)

select * from renamed
