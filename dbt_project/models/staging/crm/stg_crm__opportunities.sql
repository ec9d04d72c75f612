with

source as (

    {{ latest_landed('crm', 'opportunities', 'opportunity_id') }}

),

renamed as (

    select
        {{ landed_text('opportunity_id') }} as opportunity_id,
        {{ landed_text('account_id') }} as account_id,
        lower({{ landed_text('stage') }}) as stage,
        {{ landed_double('amount') }} as amount,
        upper({{ landed_text('currency') }}) as currency,
        {{ landed_double('probability') }} as probability,
        {{ landed_date('expected_close_date') }} as expected_close_date,
        {{ landed_timestamp('closed_at') }} as closed_at,
        {{ landed_boolean('is_won') }} as is_won,
        {{ landed_text('lost_reason') }} as lost_reason,
        {{ landed_text('competitor') }} as competitor,
        {{ landed_timestamp('updated_at') }} as updated_at,
        {{ landed_metadata_columns() }}
    from source

)

select * from renamed
