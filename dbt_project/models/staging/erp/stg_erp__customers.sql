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
        cast(_batch_id as {{ dbt.type_string() }}) as landed_batch_id,
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as landed_at,
        {{ landed_partition_date('as_of') }} as landed_as_of_date
    from source

)

select * from renamed
