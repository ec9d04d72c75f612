-- KAM account plans: revenue and margin targets per key account and period. Optional: a
-- source without plans lands none (or never landed any), and this view is then empty.

with

source as (

    {{ latest_landed_optional('crm', 'account_plans', 'plan_id', [
        'plan_id', 'account_id', 'owner_id', 'period_start', 'period_end', 'revenue_target',
        'margin_target', 'currency', 'objective', 'status', 'updated_at',
    ]) }}

),

renamed as (

    select
        {{ landed_text('plan_id') }} as plan_id,
        {{ landed_text('account_id') }} as account_id,
        {{ landed_text('owner_id') }} as owner_id,
        {{ landed_date('period_start') }} as period_start,
        {{ landed_date('period_end') }} as period_end,
        {{ landed_double('revenue_target') }} as revenue_target,
        {{ landed_double('margin_target') }} as margin_target,
        upper({{ landed_text('currency') }}) as currency,
        {{ landed_text('objective') }} as objective,
        lower({{ landed_text('status') }}) as status,
        {{ landed_timestamp('updated_at') }} as updated_at,
        {{ landed_metadata_columns() }}
    from source

)

select * from renamed
