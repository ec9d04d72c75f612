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
        cast(_batch_id as {{ dbt.type_string() }}) as landed_batch_id,
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as landed_at,
        {{ landed_partition_date('as_of') }} as landed_as_of_date
    from source

)

select * from renamed
