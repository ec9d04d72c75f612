{#
    SCD2 history of each customer's health band (validity in run dates): a new version only
    when the band changes, not when the score moves within it (the score changes nearly every
    run, which gave every customer a version per run). The version in force before a run is
    the previous band customer_health compares with; the previous run's score comes from
    int_health_scores_recorded. health_score is the score of the run that opened the version.
#}
{% snapshot snap_customer_health %}

{{ config(
    pre_hook="{{ undo_run_date_versions() }}",
    schema='snapshots',
    unique_key='customer_key',
    strategy='check',
    hard_deletes='ignore',
    check_cols=['health_band'],
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
