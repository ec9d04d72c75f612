with

source as (

    {{ latest_landed('erp', 'fx_rates', ['currency', 'rate_date']) }}

),

renamed as (

    select
        upper({{ landed_text('currency') }}) as currency,
        {{ landed_date('rate_date') }} as rate_date,
        {{ landed_double('rate_to_base') }} as rate_to_base,
        {{ landed_metadata_columns() }}
    from source

)

select * from renamed
