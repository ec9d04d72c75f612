with

source as (

    {{ latest_landed('erp', 'fx_rates', ['currency', 'rate_date']) }}

),

renamed as (

    select
        upper({{ landed_text('currency') }}) as currency,
        {{ landed_date('rate_date') }} as rate_date,
        {{ landed_double('rate_to_base') }} as rate_to_base,
        cast(_batch_id as {{ dbt.type_string() }}) as landed_batch_id,
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as landed_at,
        {{ landed_partition_date('as_of') }} as landed_as_of_date
    from source

)

select * from renamed
