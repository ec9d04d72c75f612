with

source as (

    {{ latest_landed('crm', 'tickets', 'ticket_id') }}

),

renamed as (

    select
        {{ landed_text('ticket_id') }} as ticket_id,
        {{ landed_text('account_id') }} as account_id,
        lower({{ landed_text('category') }}) as category,
        lower({{ landed_text('priority') }}) as priority,
        lower({{ landed_text('status') }}) as status,
        {{ landed_timestamp('opened_at') }} as opened_at,
        {{ landed_timestamp('resolved_at') }} as resolved_at,
        {{ landed_metadata_columns() }}
    from source

)

select * from renamed
