-- One row per ordering customer as of the run date: repeat purchase, cross-purchase breadth,
-- tenure, promoter status, price tolerance and the 0-100 loyalty index with its band. The
-- components and formulas are int_customer_loyalty_scored's (and _marts__economics.yml).

with

loyalty as (

    select * from {{ ref('int_customer_loyalty_scored') }}

),

final as (

    select
        customer_id,
        {{ as_of_date() }} as as_of_date,
        first_order_date,
        tenure_days,
        order_count_total,
        active_months_t12m,
        life_months_t12m,
        repeat_purchase_rate,
        distinct_categories_t12m,
        category_count,
        category_share_t12m,
        latest_nps_score,
        promoter_status,
        price_index_t12m,
        price_response,
        discount_depth_t12m,
        repeat_purchase_score,
        cross_purchase_score,
        tenure_score,
        promoter_score,
        price_tolerance_score,
        loyalty_index,
        loyalty_band
    from loyalty

)

select * from final
