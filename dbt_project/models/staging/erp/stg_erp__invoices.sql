with

source as (

    {{ latest_landed('erp', 'invoices', 'invoice_id') }}

),

renamed as (

    select
        {{ landed_text('invoice_id') }} as invoice_id,
        {{ landed_text('customer_id') }} as customer_id,
        {{ landed_text('order_id') }} as order_id,
        {{ landed_date('invoice_date') }} as invoice_date,
        {{ landed_date('due_date') }} as due_date,
        {{ landed_double('amount') }} as amount,
        upper({{ landed_text('currency') }}) as currency,
        lower({{ landed_text('status') }}) as status,
        {{ landed_timestamp('updated_at') }} as updated_at,
        {{ landed_metadata_columns() }}
    from source

)

select * from renamed
