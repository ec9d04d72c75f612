-- The alert history the build of the run date D sees: the newest partition of the alerts
-- step's export (kam_transforms.alerts.lifecycle) dated before D, i.e. the alert state after
-- the previous alerts step. Never D's own partition: D's alerts step runs after this build,
-- so a rebuild of D reads the same history. Empty before any alerts step has run.

with

landed as (

    {{ alert_history_partitions() }}

),

latest as (

    select max(history_as_of) as history_as_of
    from landed

),

final as (

    select
        cast(landed.dedup_key as {{ dbt.type_string() }}) as dedup_key,
        cast(landed.customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(landed.rule_id as {{ dbt.type_string() }}) as rule_id,
        cast(landed.severity as {{ dbt.type_string() }}) as severity,
        cast(landed.raised_on as date) as raised_on,
        cast(landed.closed_on as date) as closed_on,
        landed.history_as_of
    from landed
    inner join latest
        on landed.history_as_of = latest.history_as_of

)

select * from final
