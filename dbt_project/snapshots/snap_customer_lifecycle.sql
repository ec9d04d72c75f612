{# SCD2 history of each customer's lifecycle stage (validity in run dates). #}
{% snapshot snap_customer_lifecycle %}

{{ config(
    pre_hook="{{ undo_run_date_versions() }}",
    schema='snapshots',
    unique_key='customer_key',
    strategy='check',
    hard_deletes='ignore',
    check_cols=['lifecycle_stage'],
) }}

    select
        customer_key,
        customer_id,
        as_of_date,
        lifecycle_stage,
        stage_entered_date,
        previous_stage
    from {{ ref('customer_lifecycle') }}
    where {{ is_latest_run_date() }}

{% endsnapshot %}
