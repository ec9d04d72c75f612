with

source as (

    {{ latest_landed('erp', 'customers', 'customer_id') }}

),

renamed as (

    select
        {{ landed_text('customer_id') }} as customer_id,
        {{ landed_text('customer_name') }} as customer_name,
        {{ landed_text('tax_id') }} as tax_id,
        upper({{ landed_text('currency') }}) as currency,
        {{ landed_integer('payment_terms_days') }} as payment_terms_days,
        {{ landed_double('credit_limit') }} as credit_limit,
        {{ landed_timestamp('created_at') }} as created_at,
        {{ landed_timestamp('updated_at') }} as updated_at,
        {{ landed_metadata_columns() }}
    from source

)

select * from renamed
