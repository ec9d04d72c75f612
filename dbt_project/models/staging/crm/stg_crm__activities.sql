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
        {{ landed_metadata_columns() }}
    from source

)

select * from renamed
