-- One row per ERP customer as of the run date:
--  * ABC class by cumulative share of the chosen measure (var abc_measure: gross_margin by
--    default, or revenue) over the trailing window, with a hysteresis band
--    (var abc_hysteresis_band) against the class on the comparison window
--    (var tier_comparison_days earlier); customers with no positive measure are C;
--  * customer value matrix quadrant from current value (the measure) and potential value
--    (predicted CLV plus weighted pipeline margin; the trend projection without a CLV);
--  * key-account score 0-100 from weighted component scores (five, plus loyalty and low
--    squeeze from the customer-economics models at weight 0 by default), and is_key_account;
--  * the previous class (comparison window) and the previous quadrant (previous run).

{%- set measure = abc_measure_prefix() %}
{%- set weights = var('key_account_score_weights') %}
{%- set weight_total = weights.values() | sum %}
{%- set value_cutoff = var('value_matrix_high_percentile') %}
{%- set squeeze_weight = var('value_matrix_squeeze_weight') %}
{%- set loyalty_weight = var('value_matrix_loyalty_weight') %}

with

windowed as (

    select * from {{ ref('int_customer_revenue_windowed') }}

),

facts as (

    select * from {{ ref('customer_facts') }}
    where customer_id is not null

),

clv as (

    select * from {{ ref('int_customer_clv_scored') }}

),

price_signals as (

    select * from {{ ref('int_customer_price_signals') }}

),

loyalty as (

    select * from {{ ref('int_customer_loyalty_scored') }}

),

previous_run as (

    {{ previous_run_state('snap_customer_tiers', [
        ('customer_id', dbt.type_string()),
        ('value_quadrant', dbt.type_string()),
    ]) }}

),

measured as (

    select
        windowed.customer_id,
        windowed.revenue_t12m,
        windowed.gross_margin_t12m,
        windowed.revenue_prior_12m,
        windowed.{{ measure }}_t12m as measure_value,
        windowed.previous_{{ measure }}_t12m as previous_measure_value
    from windowed

),

-- ABC ---------------------------------------------------------------------------------

running as (

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
        running.*,
        {{ abc_cumulative_share('running_measure', 'total_measure') }} as cumulative_share,
        {{ abc_share_before('measure_value', 'running_measure', 'total_measure') }} as share_before,
        {{ abc_share_before('previous_measure_value', 'previous_running_measure', 'previous_total_measure') }}
            as previous_share_before
    from running

),

classified as (

    select
        shares.*,
        {{ abc_class_from_share('measure_value', 'share_before') }} as unbanded_abc_class,
        {{ abc_class_from_share('previous_measure_value', 'previous_share_before') }} as previous_abc_class
    from shares

),

banded as (

    select
        classified.*,
        {{ abc_class_with_band('measure_value', 'share_before', 'previous_abc_class') }} as abc_class
    from classified

),

-- value matrix ------------------------------------------------------------------------

valued as (

    select
        banded.*,
        facts.weighted_open_pipeline_base,
        facts.gross_margin_rate_t12m,
        facts.gross_margin_change_share,
        facts.gross_margin_lifetime,
        facts.cost_to_serve_t12m,
        facts.category_share_t12m,
        facts.invoices_late_share_t12m,
        facts.latest_nps_score,
        clv.predicted_clv,
        clv.customer_id is not null and not clv.is_fallback as has_predicted_clv,
        price_signals.squeeze_score,
        loyalty.loyalty_index,
        -- the pipeline is valued at the customer's margin rate (or 30% without history)
        coalesce(facts.weighted_open_pipeline_base, 0) * coalesce(facts.gross_margin_rate_t12m, 0.30)
            as pipeline_margin_value
    from banded
    left join facts
        on banded.customer_id = facts.customer_id
    left join clv
        on banded.customer_id = clv.customer_id
    left join price_signals
        on banded.customer_id = price_signals.customer_id
    left join loyalty
        on banded.customer_id = loyalty.customer_id

),

potential as (

    select
        valued.*,
        case when valued.has_predicted_clv then 'predicted_clv' else 'trend' end as potential_value_basis,
        greatest(
            case
                when valued.has_predicted_clv then valued.predicted_clv
                -- trend projection: next year's margin at this year's growth, growth capped at +300%
                else
                    valued.gross_margin_t12m
                    * (1 + least(greatest(coalesce(valued.gross_margin_change_share, 0), -1), 3))
            end,
            0
        ) + valued.pipeline_margin_value as potential_value
    from valued

),

-- squeeze discounts the current value, loyalty scales the potential value (weights
-- value_matrix_squeeze_weight / value_matrix_loyalty_weight; 0 leaves both as they are)
adjusted as (

    select
        potential.*,
        potential.measure_value
        * (1 - {{ squeeze_weight }} * coalesce(potential.squeeze_score, 0) / 100.0) as matrix_current_value,
        potential.potential_value
        * (1 + {{ loyalty_weight }} * (coalesce(potential.loyalty_index, 50) - 50) / 50.0) as matrix_potential_value
    from potential

),

value_ranked as (

    select
        adjusted.*,
        percent_rank() over (order by adjusted.matrix_current_value) as current_value_percentile,
        percent_rank() over (order by adjusted.matrix_potential_value) as potential_value_percentile
    from adjusted

),

quadrants as (

    select
        value_ranked.*,
        value_ranked.matrix_current_value > 0
        and value_ranked.current_value_percentile >= {{ value_cutoff }} as is_high_current_value,
        value_ranked.matrix_potential_value > 0
        and value_ranked.potential_value_percentile >= {{ value_cutoff }} as is_high_potential_value
    from value_ranked

),

-- key-account score ---------------------------------------------------------------------

components as (

    select
        quadrants.*,
        case
            when quadrants.is_high_current_value and quadrants.is_high_potential_value then 'core'
            when quadrants.is_high_potential_value then 'potential'
            when quadrants.is_high_current_value then 'direct'
            else 'inferior'
        end as value_quadrant,
        {{ percentile_score('revenue_t12m') }} as revenue_volume_score,
        {{ percentile_score('potential_value') }} as revenue_potential_score,
        -- margin to date plus predicted margin, less the trailing cost to serve
        {{ percentile_score(
            'coalesce(gross_margin_lifetime, 0) + coalesce(predicted_clv, 0) - coalesce(cost_to_serve_t12m, 0)'
        ) }} as lifetime_value_score,
        100.0 * coalesce(quadrants.category_share_t12m, 0) as product_fit_score,
        -- payment discipline, profitability (no squeeze on price) and satisfaction
        100.0 * (
            0.4 * (1 - coalesce(quadrants.invoices_late_share_t12m, 0.5))
            + 0.3 * percent_rank() over (order by coalesce(quadrants.gross_margin_rate_t12m, 0))
            + 0.3 * coalesce(quadrants.latest_nps_score / 10.0, 0.5)
        ) as strategic_value_score,
        coalesce(quadrants.loyalty_index, 0) as loyalty_score,
        100.0 - coalesce(quadrants.squeeze_score, 0) as low_squeeze_score
    from quadrants

),

scored as (

    select
        components.*,
        (
            {{ weights.get('revenue_volume', 0) }} * components.revenue_volume_score
            + {{ weights.get('revenue_potential', 0) }} * components.revenue_potential_score
            + {{ weights.get('lifetime_value', 0) }} * components.lifetime_value_score
            + {{ weights.get('product_fit', 0) }} * components.product_fit_score
            + {{ weights.get('strategic_value', 0) }} * components.strategic_value_score
            + {{ weights.get('loyalty', 0) }} * components.loyalty_score
            + {{ weights.get('low_squeeze', 0) }} * components.low_squeeze_score
        ) / {{ weight_total }} as key_account_score
    from components

),

final as (

    select
        scored.customer_id,
        {{ as_of_date() }} as as_of_date,
        '{{ measure }}' as abc_measure,
        scored.revenue_t12m,
        scored.gross_margin_t12m,
        scored.measure_value,
        cast(scored.measure_rank as integer) as measure_rank,
        scored.cumulative_share,
        scored.abc_class,
        scored.previous_abc_class,
        scored.abc_class <> scored.previous_abc_class as is_class_changed,
        scored.revenue_prior_12m,
        case
            when scored.revenue_prior_12m <> 0
                then (scored.revenue_t12m - scored.revenue_prior_12m) / scored.revenue_prior_12m
        end as revenue_change_share,
        scored.unbanded_abc_class,
        scored.share_before as cumulative_share_before,
        scored.measure_value as current_value,
        scored.potential_value,
        scored.potential_value_basis,
        scored.predicted_clv,
        scored.pipeline_margin_value,
        scored.is_high_current_value,
        scored.is_high_potential_value,
        scored.value_quadrant,
        previous_run.value_quadrant as previous_value_quadrant,
        coalesce(scored.value_quadrant <> previous_run.value_quadrant, false) as is_quadrant_changed,
        {{ round_to('scored.revenue_volume_score', 2) }} as revenue_volume_score,
        {{ round_to('scored.revenue_potential_score', 2) }} as revenue_potential_score,
        {{ round_to('scored.lifetime_value_score', 2) }} as lifetime_value_score,
        {{ round_to('scored.product_fit_score', 2) }} as product_fit_score,
        {{ round_to('scored.strategic_value_score', 2) }} as strategic_value_score,
        {{ round_to('scored.loyalty_score', 2) }} as loyalty_score,
        {{ round_to('scored.low_squeeze_score', 2) }} as low_squeeze_score,
        {{ round_to('scored.key_account_score', 2) }} as key_account_score,
        scored.key_account_score >= {{ var('key_account_min_score') }} as is_key_account
    from scored
    left join previous_run
        on scored.customer_id = previous_run.customer_id

)

select * from final
