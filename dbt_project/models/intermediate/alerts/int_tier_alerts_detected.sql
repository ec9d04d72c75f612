-- Tier-change and opportunity alerts as of the run date, one row per condition:
--   dropped_out_of_class_a (tier_change): class A on the comparison window, B or C now;
--     high when now C, else medium.
--   promoted_to_class_a (tier_change): class A now, B or C on the comparison window; medium
--     when it rose from C, else low.
--   potential_toward_core (opportunity): a potential-quadrant customer whose current value
--     (the ABC measure) reached alert_potential_toward_core_share of the core threshold (the
--     smallest current value counted "high") and grew by at least
--     alert_potential_toward_core_min_growth against the prior 12 months (low); or a customer
--     that moved from the potential quadrant on the previous run to core now (medium).
-- Columns: customer_id, rule_id, alert_type, severity, alert_subject, reason, evidence.

{%- set base_currency = var('base_currency') %}
{%- set measure = abc_measure_prefix() %}
{%- set core_share = var('alert_potential_toward_core_share') %}
{%- set min_growth = var('alert_potential_toward_core_min_growth') %}

with

tiers as (

    select * from {{ ref('customer_tiers') }}

),

facts as (

    select * from {{ ref('customer_facts') }}

),

-- tier changes --------------------------------------------------------------------------

dropped_out_of_class_a as (

    select
        customer_id,
        'dropped_out_of_class_a' as rule_id,
        'tier_change' as alert_type,
        case when abc_class = 'C' then 'high' else 'medium' end as severity,
        cast(null as {{ dbt.type_string() }}) as alert_subject,
        'Dropped out of class A to class ' || abc_class
        || ': trailing 12-month {{ measure | replace("_", " ") }} {{ base_currency }} '
        || {{ format_thousands('measure_value') }}
        || ', rank ' || cast(measure_rank as {{ dbt.type_string() }}) || '.' as reason,
        {{ evidence_json([
            ('previous_abc_class', 'previous_abc_class', 'id'),
            ('abc_class', 'abc_class', 'id'),
            ('abc_measure', 'abc_measure', 'code', "'abc_measure'"),
            ('measure_value', round_to('measure_value', 2), 'money', "'" ~ base_currency ~ "'"),
            ('measure_rank', 'measure_rank', 'number'),
            ('cumulative_share', round_to('cumulative_share', 4), 'share'),
        ]) }} as evidence
    from tiers
    where previous_abc_class = 'A' and abc_class <> 'A'

),

promoted_to_class_a as (

    select
        customer_id,
        'promoted_to_class_a' as rule_id,
        'tier_change' as alert_type,
        case when previous_abc_class = 'C' then 'medium' else 'low' end as severity,
        cast(null as {{ dbt.type_string() }}) as alert_subject,
        'Promoted from class ' || previous_abc_class || ' to class A: trailing 12-month '
        || '{{ measure | replace("_", " ") }} {{ base_currency }} ' || {{ format_thousands('measure_value') }}
        || ', rank ' || cast(measure_rank as {{ dbt.type_string() }})
        || '; treat it as a key account.' as reason,
        {{ evidence_json([
            ('previous_abc_class', 'previous_abc_class', 'id'),
            ('abc_class', 'abc_class', 'id'),
            ('abc_measure', 'abc_measure', 'code', "'abc_measure'"),
            ('measure_value', round_to('measure_value', 2), 'money', "'" ~ base_currency ~ "'"),
            ('measure_rank', 'measure_rank', 'number'),
            ('cumulative_share', round_to('cumulative_share', 4), 'share'),
        ]) }} as evidence
    from tiers
    where abc_class = 'A' and previous_abc_class in ('B', 'C')

),

-- potential_toward_core -----------------------------------------------------------------

core_threshold as (

    select min(current_value) as core_current_value
    from tiers
    where is_high_current_value

),

valued as (

    select
        tiers.customer_id,
        tiers.value_quadrant,
        tiers.previous_value_quadrant,
        tiers.current_value,
        core_threshold.core_current_value,
        facts.{{ measure }}_t12m as measure_t12m,
        facts.{{ measure }}_prior_12m as measure_prior_12m,
        case
            when facts.{{ measure }}_prior_12m > 0
                then (facts.{{ measure }}_t12m - facts.{{ measure }}_prior_12m) / facts.{{ measure }}_prior_12m
        end as measure_growth_share,
        tiers.value_quadrant = 'core' and tiers.previous_value_quadrant = 'potential' as is_moved_to_core
    from tiers
    cross join core_threshold
    left join facts
        on tiers.customer_id = facts.customer_id

),

approaching_core as (

    select
        valued.*,
        valued.current_value / valued.core_current_value as core_share
    from valued
    where
        valued.is_moved_to_core
        or (
            valued.value_quadrant = 'potential'
            and valued.core_current_value > 0
            and valued.current_value >= {{ core_share }} * valued.core_current_value
            and valued.measure_t12m >= (1 + {{ min_growth }}) * coalesce(valued.measure_prior_12m, 0)
            and valued.measure_t12m > 0
        )

),

potential_toward_core as (

    select
        customer_id,
        'potential_toward_core' as rule_id,
        'opportunity' as alert_type,
        case when is_moved_to_core then 'medium' else 'low' end as severity,
        cast(null as {{ dbt.type_string() }}) as alert_subject,
        case
            when is_moved_to_core
                then
                    'Moved from the potential to the core quadrant: trailing 12-month '
                    || '{{ measure | replace("_", " ") }} {{ base_currency }} '
                    || {{ format_thousands('current_value') }}
                    || ' (core from {{ base_currency }} '
                    || {{ format_thousands('core_current_value') }} || ').'
            else
                'Potential customer growing toward core: trailing 12-month {{ measure | replace("_", " ") }} '
                || '{{ base_currency }} ' || {{ format_thousands('current_value') }} || ' is '
                || {{ rounded_integer_text('100 * core_share') }}
                || '% of the core threshold ({{ base_currency }} '
                || {{ format_thousands('core_current_value') }} || ')'
                || coalesce(
                    ', up '
                    || {{ rounded_integer_text('100 * measure_growth_share') }}
                    || '% on the prior 12 months',
                    ', new since the prior 12 months'
                ) || '.'
        end as reason,
        {{ evidence_json([
            ('value_quadrant', 'value_quadrant', 'code', "'value_quadrant'"),
            ('previous_value_quadrant', 'previous_value_quadrant', 'code', "'value_quadrant'"),
            ('abc_measure', "'" ~ measure ~ "'", 'code', "'abc_measure'"),
            ('current_value', round_to('current_value', 2), 'money', "'" ~ base_currency ~ "'"),
            ('core_current_value', round_to('core_current_value', 2), 'money', "'" ~ base_currency ~ "'"),
            ('core_share', round_to('core_share', 4), 'share'),
            ('measure_growth_share', round_to('measure_growth_share', 4), 'share'),
        ]) }} as evidence
    from approaching_core

),

final as (

    select * from dropped_out_of_class_a
    union all
    select * from promoted_to_class_a
    union all
    select * from potential_toward_core

)

select * from final
