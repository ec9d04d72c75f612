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
        {{ landed_metadata_columns() }}
    from source

)

select * from renamed
