with

source as (

    {{ latest_landed('crm', 'accounts', 'account_id', keep_deleted=true) }}

),

renamed as (

    select
        {{ landed_text('account_id') }} as account_id,
        {{ landed_text('account_name') }} as account_name,
        {{ landed_text('industry') }} as industry,
        {{ landed_text('region') }} as region,
        {{ landed_text('country') }} as country,
        {{ landed_integer('employee_count') }} as employee_count,
        {{ landed_text('owner_id') }} as owner_id,
        {{ landed_text('parent_account_id') }} as parent_account_id,
        {{ landed_text('erp_customer_id') }} as erp_customer_id,
        {{ landed_timestamp('created_at') }} as created_at,
        {{ landed_timestamp('updated_at') }} as updated_at,
        {{ landed_boolean('is_deleted') }} as is_deleted,
        {{ landed_timestamp(landed_optional_column('crm', 'accounts', 'owner_assigned_at')) }} as owner_assigned_at,
        {{ landed_metadata_columns() }}
    from source

)

select * from renamed
