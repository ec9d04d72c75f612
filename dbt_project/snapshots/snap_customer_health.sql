{#
    SCD2 history of each customer's health score and band (validity in run dates); the
    version in force before a run is the "previous run" customer_health compares with.
#}
{% snapshot snap_customer_health %}

{{ config(
    pre_hook="{{ undo_run_date_versions() }}",
    schema='snapshots',
    unique_key='customer_key',
    strategy='check',
    hard_deletes='ignore',
    check_cols=['health_score', 'health_band'],
) }}

    select
        customer_key,
        customer_id,
        as_of_date,
        health_score,
        health_band
    from {{ ref('customer_health') }}
    where {{ is_latest_run_date() }}

{% endsnapshot %}
