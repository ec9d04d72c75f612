-- One row per ordering customer (dim_customers rows with an order) as of the run date:
-- six 0-100 components (revenue trend, payment discipline, satisfaction, open complaints,
-- engagement recency, relationship changes), their weighted score (var health_weights),
-- a band (green, yellow, red) and the trend against the previous run's score
-- (int_health_scores_recorded; the band of the previous run from snapshot
-- snap_customer_health, which versions a customer only when its band changes).
-- Missing data is unknown, never good or bad news: payment discipline is null for a customer
-- without an invoice due in the trailing window or overdue; satisfaction, open complaints and
-- engagement are null for everyone when surveys, tickets or activities never landed
-- (int_data_coverage). The score is weighted over the known components only.

{%- set weights = var('health_weights') %}
{%- set component_names = [
    'revenue_trend', 'payment_discipline', 'satisfaction', 'open_complaints', 'engagement_recency',
    'relationship_changes',
] %}
{%- set full_days = var('engagement_full_score_days') %}
{%- set zero_days = var('engagement_zero_score_days') %}
{%- set tolerance = var('health_trend_min_change') %}

with

facts as (

    select * from {{ ref('customer_facts') }}
    where first_order_date is not null

),

unknown_components as (

    select check_name
    from {{ ref('int_data_coverage') }}
    where check_type = 'health_score' and not is_active

),

previous_run_band as (

    {{ previous_run_state('snap_customer_health', [
        ('customer_key', dbt.type_string()),
        ('health_band', dbt.type_string()),
    ]) }}

),

previous_run_score as (

    {{ previous_recorded_run('int_health_scores_recorded', 'run_date', [
        ('customer_key', dbt.type_string()),
        ('health_score', type_double()),
    ]) }}

),

components as (

    select
        customer_key,
        account_id,
        customer_id,
        revenue_change_share,
        invoices_late_share_t12m,
        max_days_overdue,
        latest_nps_score,
        latest_csat_score,
        open_complaint_count,
        oldest_open_complaint_age_days,
        days_since_last_touchpoint,
        account_manager_changes_180d,
        key_contact_departures_180d,
        opportunities_lost_to_competitor_t12m,
        -- revenue trend: 50 when flat, 0 at -50% or worse, 100 at +50% or better; 50 without a prior year
        case
            when revenue_change_share is null then 50.0
            else least(greatest(50.0 + 100.0 * revenue_change_share, 0.0), 100.0)
        end as revenue_trend_score,
        -- payment discipline: share of invoices paid on time, less half a point per day the
        -- oldest overdue invoice is late (at most 50); unknown without invoices to judge
        case
            when invoices_late_share_t12m is null and max_days_overdue is null then null
            else
                greatest(
                    100.0 * (1 - coalesce(invoices_late_share_t12m, 0))
                    - least(0.5 * coalesce(max_days_overdue, 0), 50.0),
                    0.0
                )
        end as payment_discipline_score,
        -- satisfaction: mean of NPS (0-10 -> 0-100) and CSAT (1-5 -> 0-100); 50 without answers
        case
            when 'satisfaction_score' in (select unknown_components.check_name from unknown_components) then null
            when latest_nps_score is null and latest_csat_score is null then 50.0
            when latest_csat_score is null then 10.0 * latest_nps_score
            when latest_nps_score is null then 25.0 * (latest_csat_score - 1)
            else (10.0 * latest_nps_score + 25.0 * (latest_csat_score - 1)) / 2
        end as satisfaction_score,
        -- open complaints: 100 without, 25 points less per open complaint, 0 past the SLA
        case
            when 'open_complaints_score' in (select unknown_components.check_name from unknown_components) then null
            when open_complaint_count = 0 then 100.0
            when oldest_open_complaint_age_days > {{ var('complaint_sla_days') }} then 0.0
            else greatest(100.0 - 25.0 * open_complaint_count, 0.0)
        end as open_complaints_score,
        -- engagement recency: 100 up to the full-score days, linear to 0 at the zero-score days
        case
            when 'engagement_recency_score' in (select unknown_components.check_name from unknown_components) then null
            when days_since_last_touchpoint is null then 0.0
            when days_since_last_touchpoint <= {{ full_days }} then 100.0
            when days_since_last_touchpoint >= {{ zero_days }} then 0.0
            else 100.0 * ({{ zero_days }} - days_since_last_touchpoint) / ({{ zero_days }} - {{ full_days }})
        end as engagement_recency_score,
        -- relationship changes: 40 points less per account-manager change and per key contact
        -- who left, 20 per opportunity lost to a competitor
        greatest(
            100.0
            - 40.0 * account_manager_changes_180d
            - 40.0 * key_contact_departures_180d
            - 20.0 * opportunities_lost_to_competitor_t12m,
            0.0
        ) as relationship_changes_score
    from facts

),

weighted as (

    select
        components.*,
        (
            {%- for name in component_names %}
                {{ '+ ' if not loop.first }}coalesce({{ weights.get(name, 0) }} * components.{{ name }}_score, 0)
            {%- endfor %}
        ) / nullif(
            {%- for name in component_names %}
                {{ '+ ' if not loop.first }}{{ weights.get(name, 0) }} * cast({{ name }}_score is not null as integer)
            {%- endfor %},
            0
        ) as weighted_score
    from components

),

scored as (

    select
        weighted.*,
        {{ round_to('weighted.weighted_score', 1) }} as health_score
    from weighted

),

final as (

    select
        scored.customer_key,
        scored.account_id,
        scored.customer_id,
        {{ as_of_date() }} as as_of_date,
        scored.health_score,
        case
            when scored.health_score >= {{ var('health_green_min_score') }} then 'green'
            when scored.health_score >= {{ var('health_yellow_min_score') }} then 'yellow'
            else 'red'
        end as health_band,
        previous_run_score.health_score as previous_health_score,
        previous_run_band.health_band as previous_health_band,
        case
            when previous_run_score.health_score is null then 'same'
            when scored.health_score >= previous_run_score.health_score + {{ tolerance }} then 'up'
            when scored.health_score <= previous_run_score.health_score - {{ tolerance }} then 'down'
            else 'same'
        end as health_trend,
        cast(scored.revenue_trend_score as {{ type_double() }}) as revenue_trend_score,
        cast(scored.payment_discipline_score as {{ type_double() }}) as payment_discipline_score,
        cast(scored.satisfaction_score as {{ type_double() }}) as satisfaction_score,
        cast(scored.open_complaints_score as {{ type_double() }}) as open_complaints_score,
        cast(scored.engagement_recency_score as {{ type_double() }}) as engagement_recency_score,
        cast(scored.relationship_changes_score as {{ type_double() }}) as relationship_changes_score
    from scored
    left join previous_run_band
        on scored.customer_key = previous_run_band.customer_key
    left join previous_run_score
        on scored.customer_key = previous_run_score.customer_key

)

select * from final
