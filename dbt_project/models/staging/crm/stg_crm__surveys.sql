with

source as (

    {{ latest_landed('crm', 'surveys', 'response_id') }}

),

renamed as (

    select
        {{ landed_text('response_id') }} as response_id,
        {{ landed_text('account_id') }} as account_id,
        {{ landed_text('contact_id') }} as contact_id,
        lower({{ landed_text('survey_type') }}) as survey_type,
        {{ landed_double('score') }} as score,
        {{ landed_timestamp('responded_at') }} as responded_at,
        {{ landed_metadata_columns() }}
    from source

)

select * from renamed
