{#
    SCD2 history of each customer's ABC class, value-matrix quadrant and key-account flag.
    dbt_valid_from / dbt_valid_to are run dates (macros/snapshot_get_time.sql), so a backfill
    over successive dates writes the history the daily runs would have.
#}
{% snapshot snap_customer_tiers %}

{{ config(
    pre_hook="{{ undo_run_date_versions() }}",
    schema='snapshots',
    unique_key='customer_id',
    strategy='check',
    hard_deletes='ignore',
    check_cols=['abc_class', 'value_quadrant', 'is_key_account'],
) }}

    select
        customer_id,
        as_of_date,
        abc_class,
        value_quadrant,
        is_key_account,
        key_account_score,
        measure_value,
        cumulative_share
    from {{ ref('customer_tiers') }}
    where {{ is_latest_run_date() }}

{% endsnapshot %}
