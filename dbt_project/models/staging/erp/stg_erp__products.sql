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
        cast(_batch_id as {{ dbt.type_string() }}) as landed_batch_id,
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as landed_at,
        {{ landed_partition_date('as_of') }} as landed_as_of_date
    from source

)

select * from renamed
