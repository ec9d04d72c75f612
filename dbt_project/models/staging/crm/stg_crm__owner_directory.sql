-- The owner directory (optional file drop): one row per landed owner it names. Without any
-- landed batch the model is empty, with the same columns.
{%- set directory_columns = ['owner_id', 'email', 'manager_email', 'locale', 'team'] %}

with

source as (

    {{ latest_landed_optional('crm', 'owner_directory', 'owner_id', directory_columns) }}

),

renamed as (

    select
        {{ landed_text('owner_id') }} as owner_id,
        lower({{ landed_text('email') }}) as directory_email,
        lower({{ landed_text('manager_email') }}) as manager_email,
        {{ landed_text('locale') }} as locale,
        {{ landed_text('team') }} as team,
        {{ landed_metadata_columns() }}
    from source

)

select * from renamed
