with

source as (

    {{ latest_landed('erp', 'order_lines', 'order_line_id') }}

),

renamed as (

    select
        {{ landed_text('order_line_id') }} as order_line_id,
        {{ landed_text('order_id') }} as order_id,
        {{ landed_text('product_id') }} as product_id,
        {{ landed_double('quantity') }} as quantity,
        {{ landed_double('unit_price') }} as unit_price,
        {{ landed_double('discount_pct') }} as discount_pct,
        {{ landed_double('unit_cost') }} as unit_cost,
        cast(_batch_id as {{ dbt.type_string() }}) as landed_batch_id,
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as landed_at,
        {{ landed_partition_date('as_of') }} as landed_as_of_date
    from source

)

select * from renamed
