-- One row per ordering customer and calendar month, from the month of the customer's
-- first order through the month of the run date (months without orders included, so
-- cohorts and trend charts need no gap filling).

with

order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

month_numbers as (

    {{ numbers(3) }}

),

monthly_lines as (

    select
        customer_id,
        cast({{ dbt.date_trunc('month', 'order_date') }} as date) as month_start_date,
        order_id,
        product_id,
        revenue_base,
        gross_margin_base
    from order_lines

),

customer_months as (

    select
        customer_id,
        month_start_date,
        {{ exact_sum('revenue_base') }} as revenue_base,
        {{ exact_sum('gross_margin_base') }} as gross_margin_base,
        count(distinct order_id) as order_count,
        count(distinct product_id) as distinct_product_count
    from monthly_lines
    group by customer_id, month_start_date

),

first_months as (

    select
        customer_id,
        min(month_start_date) as cohort_month_date
    from customer_months
    group by customer_id

),

calendar_months as (

    select
        {{ date_add_months('-1 * month_numbers.n', dbt.date_trunc('month', as_of_date())) }}
            as month_start_date
    from month_numbers

),

spine as (

    select
        first_months.customer_id,
        first_months.cohort_month_date,
        calendar_months.month_start_date
    from first_months
    inner join calendar_months
        on first_months.cohort_month_date <= calendar_months.month_start_date

),

final as (

    select
        spine.customer_id,
        spine.month_start_date,
        cast({{ dbt.last_day('spine.month_start_date', 'month') }} as date) as month_end_date,
        spine.cohort_month_date,
        cast(
            {{ dbt.datediff('spine.cohort_month_date', 'spine.month_start_date', 'month') }}  -- noqa: LT05
            as integer
        ) as months_since_first_order,
        coalesce(customer_months.revenue_base, 0) as revenue_base,
        coalesce(customer_months.gross_margin_base, 0) as gross_margin_base,
        cast(coalesce(customer_months.order_count, 0) as integer) as order_count,
        cast(coalesce(customer_months.distinct_product_count, 0) as integer) as distinct_product_count,
        coalesce(customer_months.order_count, 0) > 0 as is_active,
        cast({{ dbt.last_day('spine.month_start_date', 'month') }} as date) <= {{ as_of_date() }}
            as is_complete_month
    from spine
    left join customer_months
        on
            spine.customer_id = customer_months.customer_id
            and spine.month_start_date = customer_months.month_start_date

)

select * from final
