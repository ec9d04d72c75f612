-- One row per customer and order date: the gross margin of that day's orders in the base
-- currency. The CLV model's input (several orders on one day are one purchase).

with

order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

final as (

    select
        customer_id,
        order_date,
        {{ exact_sum('gross_margin_base') }} as margin
    from order_lines
    group by customer_id, order_date

)

select * from final
