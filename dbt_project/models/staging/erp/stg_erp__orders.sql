with

source as (

    {{ latest_landed('erp', 'orders', 'order_id') }}

),

renamed as (

    select
        {{ landed_text('order_id') }} as order_id,
        {{ landed_text('customer_id') }} as customer_id,
        {{ landed_date('order_date') }} as order_date,
        upper({{ landed_text('currency') }}) as currency,
        lower({{ landed_text('status') }}) as status,
        {{ landed_timestamp('updated_at') }} as updated_at,
        {{ landed_metadata_columns() }}
    from source

)

select * from renamed
