-- One row per lifecycle stage (the customers' stage as of the run date, customer_lifecycle)
-- and month of life: input against output across the customers of that stage, so the curve
-- of the method (input against output over the lifecycle) can be plotted per stage.
--   customer_count: customers of the stage that have reached this month of life;
--   *_total: sums over them; *_per_customer: total / customer_count;
--   cumulative_*_per_customer: the mean of those customers' cumulative values at this month.

with

customer_months as (

    select * from {{ ref('customer_input_output') }}

),

aggregated as (

    select
        coalesce(lifecycle_stage, 'unknown') as lifecycle_stage,
        month_of_life,
        count(*) as customer_count,
        sum(case when is_active then 1 else 0 end) as ordering_customer_count,
        sum(input_ticket_cost) as input_ticket_cost_total,
        sum(input_touchpoint_cost) as input_touchpoint_cost_total,
        sum(input_discount_cost) as input_discount_cost_total,
        sum(input_cost) as input_cost_total,
        sum(output_margin) as output_margin_total,
        sum(net_value) as net_value_total,
        avg(cumulative_input_cost) as cumulative_input_cost_per_customer,
        avg(cumulative_output_margin) as cumulative_output_margin_per_customer,
        avg(cumulative_net_value) as cumulative_net_value_per_customer
    from customer_months
    group by coalesce(lifecycle_stage, 'unknown'), month_of_life

),

final as (

    select
        lifecycle_stage,
        month_of_life,
        {{ as_of_date() }} as as_of_date,
        cast(customer_count as integer) as customer_count,
        cast(ordering_customer_count as integer) as ordering_customer_count,
        input_ticket_cost_total,
        input_touchpoint_cost_total,
        input_discount_cost_total,
        input_cost_total,
        output_margin_total,
        net_value_total,
        input_cost_total / customer_count as input_cost_per_customer,
        output_margin_total / customer_count as output_margin_per_customer,
        cumulative_input_cost_per_customer,
        cumulative_output_margin_per_customer,
        cumulative_net_value_per_customer
    from aggregated

)

select * from final
