{#
    ABC (Pareto) classification of customers by a measure, as select-list expressions
    over window functions; the caller selects from a relation with one row per customer.

    - measure_rank: 1 for the largest measure; ties broken by customer_id.
    - cumulative_share: running sum of the positive measure in rank order divided by the
      total positive measure; between 0 and 1 and non-decreasing in rank. Customers with
      a non-positive measure add nothing (their share is that of the last positive one).
    - abc_class: A while the cumulative share BEFORE the customer is below cutoff_a (the
      customer that crosses the cut-off is still A, so class A is the smallest set of top
      customers whose share reaches it), B likewise for cutoff_b, else C; a non-positive
      measure is always C.
#}
{% macro abc_rank(measure, key='customer_id') -%}
    row_number() over (order by {{ measure }} desc, {{ key }})
{%- endmacro %}

{% macro abc_running_positive(measure, key='customer_id') -%}
    sum(case when {{ measure }} > 0 then {{ measure }} else 0 end) over (
        order by {{ measure }} desc, {{ key }}
        rows between unbounded preceding and current row
    )
{%- endmacro %}

{% macro abc_total_positive(measure) -%}
    sum(case when {{ measure }} > 0 then {{ measure }} else 0 end) over ()
{%- endmacro %}

{#
    From the three columns above (already computed in a previous CTE) to the class.
    share_before = (running - positive part of own measure) / total.
#}
{% macro abc_cumulative_share(running, total) -%}
    {#- least(): the last running sum can exceed the total by a rounding error. -#}
    case when {{ total }} > 0 then least(1.0, {{ running }} / {{ total }}) else 0 end
{%- endmacro %}

{% macro abc_share_before(measure, running, total) -%}
    case
        when {{ total }} > 0
            then ({{ running }} - case when {{ measure }} > 0 then {{ measure }} else 0 end) / {{ total }}
        else 1
    end
{%- endmacro %}

{% macro abc_class_from_share(measure, share_before, cutoff_a=none, cutoff_b=none) -%}
    {%- set cutoff_a = cutoff_a if cutoff_a is not none else var('abc_cutoff_a') -%}
    {%- set cutoff_b = cutoff_b if cutoff_b is not none else var('abc_cutoff_b') -%}
    case
        when {{ measure }} is null or {{ measure }} <= 0 then 'C'
        when {{ share_before }} < {{ cutoff_a }} then 'A'
        when {{ share_before }} < {{ cutoff_b }} then 'B'
        else 'C'
    end
{%- endmacro %}

{# The column of the chosen ABC measure, from var('abc_measure'): gross_margin (default) or revenue. #}
{% macro abc_measure_prefix() -%}
    {%- set measure = var('abc_measure') -%}
    {%- if measure not in ['gross_margin', 'revenue'] -%}
        {{ exceptions.raise_compiler_error("var abc_measure must be gross_margin or revenue, got " ~ measure) }}
    {%- endif -%}
    {{ return(measure) }}
{%- endmacro %}


{#
    The class with hysteresis: a customer keeps its previous class (or better) until its
    share before clears the boundary by `band`, and only moves up into a class when its
    share before is below the boundary by `band`. For each cut-off c of class K:
        previous class K or better -> K (or better) while share_before < c + band
        previous class below K     -> K (or better) only if share_before < c - band
    A non-positive measure is always C. band = 0 gives abc_class_from_share.
#}
{% macro abc_class_with_band(measure, share_before, previous_class, band=none) -%}
    {%- set band = band if band is not none else var('abc_hysteresis_band') -%}
    {%- set cutoff_a = var('abc_cutoff_a') -%}
    {%- set cutoff_b = var('abc_cutoff_b') -%}
    case
        when {{ measure }} is null or {{ measure }} <= 0 then 'C'
        when {{ share_before }} < {{ cutoff_a }}
            + case when {{ previous_class }} = 'A' then {{ band }} else -1.0 * ({{ band }}) end
            then 'A'
        when {{ share_before }} < {{ cutoff_b }}
            + case when {{ previous_class }} in ('A', 'B') then {{ band }} else -1.0 * ({{ band }}) end
            then 'B'
        else 'C'
    end
{%- endmacro %}


{#
    Percentile score 0-100: 100 * percent_rank() of the expression ascending (ties share
    the lower rank; the smallest value scores 0, the largest 100).
#}
{% macro percentile_score(expression) -%}
    100.0 * percent_rank() over (order by {{ expression }})
{%- endmacro %}
