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
        {{ landed_text(landed_optional_column('crm', 'owners', 'team')) }} as team,
        {{ landed_metadata_columns() }}
    from source

)

select * from renamed
