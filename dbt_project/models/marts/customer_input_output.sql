-- One row per ordering customer and month of its life (fct_customer_monthly's spine: from the
-- month of the first order through the run date's month): the company's input (企业投入, cost
-- to serve) against the customer's output (客户产出, gross margin), per month and cumulative.
--   input_ticket_cost = tickets opened x cost_to_serve_unit_costs.ticket;
--   input_touchpoint_cost = sum over touchpoints of cost_to_serve_unit_costs[activity_type];
--   input_discount_cost = discount given (discount_pct x list value, base currency)
--     x input_output_discount_unit_cost;
--   input_cost = the three; output_margin = gross margin (after discounts);
--   net_value = output_margin - input_ticket_cost - input_touchpoint_cost (the discount is
--     already out of the margin and is not subtracted twice).
-- Tickets and touchpoints before the first order month count in month 0 (acquisition);
-- nothing after the run date counts.

{%- set unit_costs = var('cost_to_serve_unit_costs') %}

with

monthly as (

    select * from {{ ref('fct_customer_monthly') }}

),

order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

customers as (

    select * from {{ ref('dim_customers') }}
    where customer_id is not null and account_id is not null

),

activities as (

    select * from {{ ref('stg_crm__activities') }}

),

tickets as (

    select * from {{ ref('stg_crm__tickets') }}

),

lifecycle as (

    select * from {{ ref('customer_lifecycle') }}
    where customer_id is not null

),

cohorts as (

    select distinct
        customer_id,
        cohort_month_date
    from monthly

),

discounts as (

    select
        customer_id,
        cast({{ dbt.date_trunc('month', 'order_date') }} as date) as month_start_date,
        sum(discount_pct * quantity * unit_price * fx_rate_to_base) as discount_given_base
    from order_lines
    group by customer_id, cast({{ dbt.date_trunc('month', 'order_date') }} as date)

),

touchpoint_events as (

    select
        customers.customer_id,
        cast({{ dbt.date_trunc('month', 'cast(activities.occurred_at as date)') }} as date) as event_month_date,
        case activities.activity_type
            {%- for activity_type, cost in unit_costs.items() if activity_type != 'ticket' %}
                when '{{ activity_type }}' then {{ cost }}
            {%- endfor %}
            else 0
        end as unit_cost
    from activities
    inner join customers
        on activities.account_id = customers.account_id
    where cast(activities.occurred_at as date) <= {{ as_of_date() }}

),

ticket_events as (

    select
        customers.customer_id,
        cast({{ dbt.date_trunc('month', 'cast(tickets.opened_at as date)') }} as date) as event_month_date
    from tickets
    inner join customers
        on tickets.account_id = customers.account_id
    where cast(tickets.opened_at as date) <= {{ as_of_date() }}

),

touchpoint_months as (

    select
        touchpoint_events.customer_id,
        greatest(touchpoint_events.event_month_date, cohorts.cohort_month_date) as month_start_date,
        count(*) as touchpoint_count,
        sum(touchpoint_events.unit_cost) as touchpoint_cost
    from touchpoint_events
    inner join cohorts
        on touchpoint_events.customer_id = cohorts.customer_id
    group by
        touchpoint_events.customer_id,
        greatest(touchpoint_events.event_month_date, cohorts.cohort_month_date)

),

ticket_months as (

    select
        ticket_events.customer_id,
        greatest(ticket_events.event_month_date, cohorts.cohort_month_date) as month_start_date,
        count(*) as ticket_count
    from ticket_events
    inner join cohorts
        on ticket_events.customer_id = cohorts.customer_id
    group by
        ticket_events.customer_id,
        greatest(ticket_events.event_month_date, cohorts.cohort_month_date)

),

joined as (

    select
        monthly.customer_id,
        monthly.month_start_date,
        monthly.months_since_first_order as month_of_life,
        monthly.cohort_month_date,
        monthly.is_complete_month,
        monthly.is_active,
        lifecycle.lifecycle_stage,
        cast(coalesce(ticket_months.ticket_count, 0) as integer) as ticket_count,
        cast(coalesce(touchpoint_months.touchpoint_count, 0) as integer) as touchpoint_count,
        cast(coalesce(ticket_months.ticket_count, 0) * {{ unit_costs.get('ticket', 0) }} as {{ type_double() }})
            as input_ticket_cost,
        cast(coalesce(touchpoint_months.touchpoint_cost, 0) as {{ type_double() }}) as input_touchpoint_cost,
        coalesce(discounts.discount_given_base, 0) as discount_given_base,
        coalesce(discounts.discount_given_base, 0) * {{ var('input_output_discount_unit_cost') }}
            as input_discount_cost,
        monthly.revenue_base,
        monthly.gross_margin_base as output_margin
    from monthly
    left join lifecycle
        on monthly.customer_id = lifecycle.customer_id
    left join ticket_months
        on
            monthly.customer_id = ticket_months.customer_id
            and monthly.month_start_date = ticket_months.month_start_date
    left join touchpoint_months
        on
            monthly.customer_id = touchpoint_months.customer_id
            and monthly.month_start_date = touchpoint_months.month_start_date
    left join discounts
        on
            monthly.customer_id = discounts.customer_id
            and monthly.month_start_date = discounts.month_start_date

),

valued as (

    select
        joined.*,
        joined.input_ticket_cost + joined.input_touchpoint_cost + joined.input_discount_cost as input_cost,
        joined.output_margin - joined.input_ticket_cost - joined.input_touchpoint_cost as net_value
    from joined

),

final as (

    select
        customer_id,
        month_start_date,
        month_of_life,
        cohort_month_date,
        is_complete_month,
        is_active,
        lifecycle_stage,
        ticket_count,
        touchpoint_count,
        input_ticket_cost,
        input_touchpoint_cost,
        discount_given_base,
        input_discount_cost,
        input_cost,
        revenue_base,
        output_margin,
        net_value,
        sum(input_cost) over (
            partition by customer_id order by month_start_date rows between unbounded preceding and current row
        ) as cumulative_input_cost,
        sum(output_margin) over (
            partition by customer_id order by month_start_date rows between unbounded preceding and current row
        ) as cumulative_output_margin,
        sum(net_value) over (
            partition by customer_id order by month_start_date rows between unbounded preceding and current row
        ) as cumulative_net_value
    from valued

)

select * from final
