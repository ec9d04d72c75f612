-- One row per ERP customer: ABC class by cumulative share of the chosen measure
-- (var abc_measure: gross_margin by default, or revenue) over the trailing window, the
-- class on the window ending tier_comparison_days earlier, and the revenue trend.
-- Customers with no positive measure in the window are class C.

{%- set measure = abc_measure_prefix() %}

with

windowed as (

    select * from {{ ref('int_customer_revenue_windowed') }}

),

measured as (

    select
        customer_id,
        revenue_t12m,
        gross_margin_t12m,
        revenue_prior_12m,
        {{ measure }}_t12m as measure_value,
        previous_{{ measure }}_t12m as previous_measure_value
    from windowed

),

current_running as (

    select
        measured.*,
        {{ abc_rank('measure_value') }} as measure_rank,
        {{ abc_running_positive('measure_value') }} as running_measure,
        {{ abc_total_positive('measure_value') }} as total_measure,
        {{ abc_running_positive('previous_measure_value') }} as previous_running_measure,
        {{ abc_total_positive('previous_measure_value') }} as previous_total_measure
    from measured

),

shares as (

    select
        current_running.*,
        {{ abc_cumulative_share('running_measure', 'total_measure') }} as cumulative_share,
        {{ abc_share_before('measure_value', 'running_measure', 'total_measure') }} as share_before,
        {{ abc_share_before('previous_measure_value', 'previous_running_measure', 'previous_total_measure') }}
            as previous_share_before
    from current_running

),

classified as (

    select
        shares.*,
        {{ abc_class_from_share('measure_value', 'share_before') }} as abc_class,
        {{ abc_class_from_share('previous_measure_value', 'previous_share_before') }} as previous_abc_class
    from shares

),

final as (

    select
        customer_id,
        {{ as_of_date() }} as as_of_date,
        '{{ measure }}' as abc_measure,
        revenue_t12m,
        gross_margin_t12m,
        measure_value,
        cast(measure_rank as integer) as measure_rank,
        cumulative_share,
        abc_class,
        previous_abc_class,
        abc_class <> previous_abc_class as is_class_changed,
        revenue_prior_12m,
        case
            when revenue_prior_12m <> 0
                then (revenue_t12m - revenue_prior_12m) / revenue_prior_12m
        end as revenue_change_share
    from classified

)

select * from final
