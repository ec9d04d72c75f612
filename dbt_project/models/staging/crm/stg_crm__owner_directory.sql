-- The owner directory (optional file drop): one row per landed owner it names. Without any
-- landed batch the model is empty, with the same columns.
{%- if lake_entity_landed('crm', 'owner_directory') %}

with

source as (

    {{ latest_landed('crm', 'owner_directory', 'owner_id') }}

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

{%- else %}

-- depends on: {{ source('crm', 'owner_directory') }}
select
    cast(null as {{ dbt.type_string() }}) as owner_id,
    cast(null as {{ dbt.type_string() }}) as directory_email,
    cast(null as {{ dbt.type_string() }}) as manager_email,
    cast(null as {{ dbt.type_string() }}) as locale,
    cast(null as {{ dbt.type_string() }}) as team,
    cast(null as {{ dbt.type_string() }}) as landed_batch_id,
    cast(null as {{ dbt.type_timestamp() }}) as landed_at,
    cast(null as date) as landed_as_of_date
where false

{%- endif %}
