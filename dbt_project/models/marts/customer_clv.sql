-- Predicted customer lifetime value, one row per ordering customer as of the run date:
-- BG/NBD P(alive) and expected purchases, Gamma-Gamma expected margin per purchase, the
-- discounted CLV over the horizon, historical margin beside it, and the model run.

with

scored as (

    select * from {{ ref('int_customer_clv_scored') }}

),

final as (

    select
        customer_id,
        cast('{{ var("as_of_date") }}' as date) as as_of_date,
        cast(frequency as integer) as frequency,
        cast(recency as {{ type_double() }}) as recency,
        cast(t as {{ type_double() }}) as customer_age,
        cast(historical_margin as {{ type_double() }}) as historical_margin,
        cast(avg_margin_per_purchase as {{ type_double() }}) as avg_margin_per_purchase,
        cast(p_alive as {{ type_double() }}) as p_alive,
        cast(expected_purchases as {{ type_double() }}) as expected_purchases,
        cast(expected_avg_margin as {{ type_double() }}) as expected_avg_margin,
        cast(predicted_clv as {{ type_double() }}) as predicted_clv,
        cast(model_run_id as varchar) as model_run_id,
        cast(model_version as varchar) as model_version,
        cast(is_fallback as boolean) as is_fallback,
        cast(fallback_reason as varchar) as fallback_reason
    from scored

)

select * from final
