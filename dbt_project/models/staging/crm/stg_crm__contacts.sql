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
        {{ landed_metadata_columns() }}
    from source

)

select * from renamed
