-- Customer-economics alerts as of the run date, one row per condition:
--   squeeze_score_high (risk): a key account whose squeeze score (customer_price_tolerance)
--     reached squeeze_min_score (the alert opens when the score crosses the threshold and
--     closes when it falls below); high from alert_squeeze_high_score, else medium.
--   whitespace_opportunity (opportunity, low): a key account's largest whitespace category
--     (customer_whitespace, opportunity_rank 1) with an opportunity value of at least
--     alert_whitespace_min_value (base currency). Subject: the run date's month (YYYY-MM), so
--     an account gets at most one such alert a month (the outbox sends no reminders for it).
-- Key accounts: class A or is_key_account. Columns: customer_id, rule_id, alert_type,
-- severity, alert_subject, reason, evidence.

{%- set base_currency = var('base_currency') %}
{%- set min_score = var('squeeze_min_score') %}
{%- set high_score = var('alert_squeeze_high_score') %}
{%- set min_value = var('alert_whitespace_min_value') %}

with

tiers as (

    select * from {{ ref('customer_tiers') }}

),

price_tolerance as (

    select * from {{ ref('customer_price_tolerance') }}

),

whitespace as (

    select * from {{ ref('customer_whitespace') }}

),

-- squeeze_score_high ----------------------------------------------------------------------

squeezing as (

    select
        price_tolerance.*,
        {{ round_to('price_tolerance.discount_depth_t12m * 100', 1) }} as discount_depth_pct,
        {{ round_to('coalesce(price_tolerance.invoices_late_share_t12m, 0) * 100', 0) }} as late_share_pct
    from price_tolerance
    inner join tiers
        on price_tolerance.customer_id = tiers.customer_id
    where
        {{ is_alert_key_account('tiers') }}
        and price_tolerance.squeeze_score >= {{ min_score }}

),

squeeze_score_high as (

    select
        customer_id,
        'squeeze_score_high' as rule_id,
        'risk' as alert_type,
        case when squeeze_score >= {{ high_score }} then 'high' else 'medium' end as severity,
        cast(null as {{ dbt.type_string() }}) as alert_subject,
        'Squeeze score ' || {{ rounded_integer_text('squeeze_score') }}
        || ' (threshold {{ min_score }}): discounts '
        || coalesce({{ rounded_text('discount_depth_pct', 1) }}, '0') || '% of list value, '
        || cast(cast(late_share_pct as {{ dbt.type_int() }}) as {{ dbt.type_string() }})
        || '% of invoices paid late, cost to serve {{ base_currency }} '
        || {{ format_thousands('cost_to_serve_t12m') }} || ' against a margin of {{ base_currency }} '
        || {{ format_thousands('gross_margin_t12m') }} || '.' as reason,
        {{ evidence_json([
            ('squeeze_score', 'squeeze_score', 'score'),
            ('threshold_score', min_score, 'score'),
            ('discount_depth_t12m', round_to('discount_depth_t12m', 4), 'share'),
            ('invoices_late_share_t12m', round_to('invoices_late_share_t12m', 4), 'share'),
            ('cost_to_serve_t12m', round_to('cost_to_serve_t12m', 2), 'money', "'" ~ base_currency ~ "'"),
            ('gross_margin_t12m', round_to('gross_margin_t12m', 2), 'money', "'" ~ base_currency ~ "'"),
            ('is_large_account_squeezing', 'is_large_account_squeezing', 'flag'),
        ]) }} as evidence
    from squeezing

),

-- whitespace_opportunity -------------------------------------------------------------------

opportunities as (

    select *
    from whitespace
    where opportunity_rank = 1 and opportunity_value >= {{ min_value }}

),

whitespace_opportunity as (

    select
        customer_id,
        'whitespace_opportunity' as rule_id,
        'opportunity' as alert_type,
        'low' as severity,
        substring(cast({{ as_of_date() }} as {{ dbt.type_string() }}), 1, 7) as alert_subject,
        'Does not buy ' || product_category || ': '
        || cast(buying_account_count as {{ dbt.type_string() }}) || ' of '
        || cast(similar_account_count as {{ dbt.type_string() }})
        || ' similar accounts (class ' || abc_class || ', ' || coalesce(industry, 'no industry')
        || ') do, with a median margin of {{ base_currency }} '
        || {{ format_thousands('peer_median_category_margin') }}
        || ' in it; opportunity {{ base_currency }} ' || {{ format_thousands('opportunity_value') }} || '.'
            as reason,
        {{ evidence_json([
            ('product_category', 'product_category', 'text'),
            ('similar_account_count', 'similar_account_count', 'count'),
            ('buying_account_count', 'buying_account_count', 'count'),
            ('buying_share', round_to('buying_share', 4), 'share'),
            ('peer_median_category_margin', round_to('peer_median_category_margin', 2), 'money', "'" ~ base_currency ~ "'"),
            ('opportunity_value', round_to('opportunity_value', 2), 'money', "'" ~ base_currency ~ "'"),
            ('threshold_value', min_value, 'money', "'" ~ base_currency ~ "'"),
            ('abc_class', 'abc_class', 'id'),
            ('industry', 'industry', 'text'),
        ]) }} as evidence
    from opportunities

),

final as (

    select * from squeeze_score_high
    union all
    select * from whitespace_opportunity

)

select * from final
