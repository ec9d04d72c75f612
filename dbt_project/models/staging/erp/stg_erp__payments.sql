with

source as (

    {{ latest_landed('erp', 'payments', 'payment_id') }}

),

renamed as (

    select
        {{ landed_text('payment_id') }} as payment_id,
        {{ landed_text('invoice_id') }} as invoice_id,
        {{ landed_timestamp('paid_at') }} as paid_at,
        {{ landed_double('amount') }} as amount,
        upper({{ landed_text('currency') }}) as currency,
        {{ landed_metadata_columns() }}
    from source

)

select * from renamed
