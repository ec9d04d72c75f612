-- One row per alert episode the build of the run date D knows: the alert history of the
-- previous alerts step (stg_alerts__alert_lifecycle) and what D's alerts step will record
-- from D's key_account_alerts, by the alert state's rules (kam_transforms.alerts.outbox):
--   closed at D: open in that history and no longer detected at D;
--   raised at D: detected at D and not open in that history (new, or again after closing).
-- days_to_close = closed_on - raised_on; the month is the calendar month of D up to D.

{%- set month_start = 'cast(' ~ dbt.date_trunc('month', as_of_date()) ~ ' as date)' %}

with

history as (

    select * from {{ ref('stg_alerts__alert_lifecycle') }}

),

detected as (

    select
        dedup_key,
        customer_id,
        rule_id,
        severity
    from {{ ref('key_account_alerts') }}
    where as_of_date = {{ as_of_date() }}

),

episodes as (

    select
        history.dedup_key,
        history.customer_id,
        history.rule_id,
        history.severity,
        history.raised_on,
        case
            when history.closed_on is null and detected.dedup_key is null then {{ as_of_date() }}
            else history.closed_on
        end as closed_on,
        'alert_history' as raised_by
    from history
    left join detected
        on history.dedup_key = detected.dedup_key

    union all

    select
        detected.dedup_key,
        detected.customer_id,
        detected.rule_id,
        detected.severity,
        {{ as_of_date() }} as raised_on,
        cast(null as date) as closed_on,
        'run_detection' as raised_by
    from detected
    where not exists (
        select 1 as is_open from history as open_history
        where open_history.dedup_key = detected.dedup_key and open_history.closed_on is null
    )

),

final as (

    select
        dedup_key,
        customer_id,
        rule_id,
        severity,
        raised_on,
        closed_on,
        raised_by,
        {{ dbt.datediff('raised_on', 'closed_on', 'day') }} as days_to_close, -- noqa: LT05
        raised_on >= {{ month_start }} as is_raised_in_month, -- noqa: LT05
        coalesce(closed_on >= {{ month_start }}, false) as is_closed_in_month -- noqa: LT05
    from episodes

)

select * from final
