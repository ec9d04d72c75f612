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
        cast(_batch_id as {{ dbt.type_string() }}) as landed_batch_id,
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as landed_at,
        {{ landed_partition_date('as_of') }} as landed_as_of_date
    from source

)

select * from renamed
