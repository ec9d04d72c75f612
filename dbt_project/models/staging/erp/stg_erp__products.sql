with

source as (

    {{ latest_landed('erp', 'products', 'product_id') }}

),

renamed as (

    select
        {{ landed_text('product_id') }} as product_id,
        {{ landed_text('product_name') }} as product_name,
        {{ landed_text('category') }} as category,
        {{ landed_double('unit_cost') }} as unit_cost,
        upper({{ landed_text('currency') }}) as currency,
        {{ landed_metadata_columns() }}
    from source

)

select * from renamed
