-- One row per customer (dim_customers grain, prospects included) as of the run date:
-- purchase history and RFM scores, trailing-12-month value and its change, product
-- breadth, cost to serve, payment discipline, satisfaction, service, engagement,
-- relationship changes and pipeline. The trailing window is (as_of - trailing_months, as_of].

{%- set months = var('trailing_months') | int %}
{%- set relationship_days = var('relationship_window_days') | int %}
{%- set unit_costs = var('cost_to_serve_unit_costs') %}

with

customers as (

    select * from {{ ref('dim_customers') }}

),

order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

windowed as (

    select * from {{ ref('int_customer_revenue_windowed') }}

),

invoices as (

    select * from {{ ref('int_invoices_settled') }}

),

products as (

    select * from {{ ref('stg_erp__products') }}

),

activities as (

    select * from {{ ref('stg_crm__activities') }}

),

tickets as (

    select * from {{ ref('stg_crm__tickets') }}

),

surveys as (

    select * from {{ ref('stg_crm__surveys') }}

),

contacts as (

    select * from {{ ref('stg_crm__contacts') }}

),

opportunities as (

    select * from {{ ref('stg_crm__opportunities') }}

),

fx_rates as (

    select * from {{ ref('int_fx_rates_ranged') }}

),

category_count as (

    select count(distinct category) as category_count from products

),

-- purchase history --------------------------------------------------------------------

orders as (

    select
        customer_id,
        order_id,
        min(order_date) as order_date,
        {{ exact_sum('revenue_base') }} as revenue_base,
        {{ in_window('min(order_date)', as_of_date(), 0, months) }} as is_trailing
    from order_lines
    group by customer_id, order_id

),

order_history as (

    select
        customer_id,
        min(order_date) as first_order_date,
        max(order_date) as last_order_date,
        count(*) as order_count_total,
        sum(case when is_trailing then 1 else 0 end) as order_count_t12m,
        {{ exact_sum('revenue_base') }} as revenue_lifetime
    from orders
    group by customer_id

),

lines_flagged as (

    select
        customer_id,
        product_id,
        product_category,
        gross_margin_base,
        quantity * unit_price * fx_rate_to_base as list_amount_base,
        discount_pct * quantity * unit_price * fx_rate_to_base as discount_amount_base,
        {{ in_window('order_date', as_of_date(), 0, months) }} as is_trailing
    from order_lines

),

line_history as (

    select
        customer_id,
        {{ exact_sum('gross_margin_base') }} as gross_margin_lifetime,
        count(distinct case when is_trailing then product_id end) as distinct_products_t12m,
        count(distinct case when is_trailing then product_category end) as distinct_categories_t12m,
        {{ exact_sum('case when is_trailing then discount_amount_base else 0 end') }} as discount_amount_t12m,
        {{ exact_sum('case when is_trailing then list_amount_base else 0 end') }} as list_amount_t12m
    from lines_flagged
    group by customer_id

),

rfm_base as (

    select
        order_history.customer_id,
        {{ dbt.datediff('order_history.last_order_date', as_of_date(), 'day') }} as recency_days,  -- noqa: LT05
        order_history.order_count_t12m,
        windowed.revenue_t12m
    from order_history
    inner join windowed
        on order_history.customer_id = windowed.customer_id

),

-- RFM scores 1-5 among the customers with an order: score = 1 + floor(5 * (r - 1) / n),
-- r the rank (ties share the lowest rank) from worst to best, n the number of customers.
rfm_scores as (

    select
        customer_id,
        recency_days,
        cast(1 + floor(5.0 * (rank() over (order by recency_days desc) - 1) / count(*) over ()) as integer)
            as recency_score,
        cast(1 + floor(5.0 * (rank() over (order by order_count_t12m asc) - 1) / count(*) over ()) as integer)
            as frequency_score,
        cast(1 + floor(5.0 * (rank() over (order by revenue_t12m asc) - 1) / count(*) over ()) as integer)
            as monetary_score
    from rfm_base

),

-- cost to serve -----------------------------------------------------------------------

activity_facts as (

    select
        account_id,
        max(occurred_at) as last_touchpoint_at,
        sum(case when {{ in_window('cast(occurred_at as date)', as_of_date(), 0, months) }} then 1 else 0 end)
            as activity_count_t12m,
        sum(
            case
                when {{ in_window('cast(occurred_at as date)', as_of_date(), 0, months) }}
                    then case activity_type
                        {%- for activity_type, cost in unit_costs.items() if activity_type != 'ticket' %}
                            when '{{ activity_type }}' then {{ cost }}
                        {%- endfor %}
                        else 0
                    end
                else 0
            end
        ) as activity_cost_t12m
    from activities
    where cast(occurred_at as date) <= {{ as_of_date() }}
    group by account_id

),

ticket_facts as (

    select
        account_id,
        sum(case when {{ in_window('cast(opened_at as date)', as_of_date(), 0, months) }} then 1 else 0 end)
            as ticket_count_t12m,
        sum(case when is_open then 1 else 0 end) as open_ticket_count,
        sum(case when is_open and category = 'complaint' then 1 else 0 end) as open_complaint_count,
        max(
            case
                when is_open and category = 'complaint'
                    then {{ dbt.datediff('cast(opened_at as date)', as_of_date(), 'day') }}
            end
        ) as oldest_open_complaint_age_days
    from (
        select
            tickets.*,
            tickets.resolved_at is null or cast(tickets.resolved_at as date) > {{ as_of_date() }} as is_open
        from tickets
        where cast(tickets.opened_at as date) <= {{ as_of_date() }}
    ) as tickets_as_of
    group by account_id

),

-- payment discipline ------------------------------------------------------------------

invoices_flagged as (

    select
        invoices.*,
        {{ in_window('due_date', as_of_date(), 0, months) }} as is_due_in_window
    from invoices

),

payment_facts as (

    select
        customer_id,
        sum(case when is_due_in_window then 1 else 0 end) as invoices_due_t12m,
        cast(avg(case when is_due_in_window then case when is_late then 1.0 else 0.0 end end) as {{ type_double() }})
            as invoices_late_share_t12m,
        avg(case when is_due_in_window and is_settled then days_paid_late end) as average_days_paid_late_t12m,
        sum(case when is_overdue then 1 else 0 end) as overdue_invoice_count,
        {{ exact_sum('overdue_amount_base') }} as overdue_amount_base,
        max(days_overdue) as max_days_overdue
    from invoices_flagged
    group by customer_id

),

-- satisfaction ------------------------------------------------------------------------

surveys_ranked as (

    select
        account_id,
        survey_type,
        score,
        row_number() over (
            partition by account_id, survey_type order by responded_at desc, response_id desc
        ) as response_recency
    from surveys
    where cast(responded_at as date) <= {{ as_of_date() }}

),

survey_facts as (

    select
        account_id,
        max(case when survey_type = 'nps' and response_recency = 1 then score end) as latest_nps_score,
        max(case when survey_type = 'nps' and response_recency = 2 then score end) as previous_nps_score,
        max(case when survey_type = 'csat' and response_recency = 1 then score end) as latest_csat_score,
        max(case when survey_type = 'csat' and response_recency = 2 then score end) as previous_csat_score
    from surveys_ranked
    where response_recency <= 2
    group by account_id

),

-- relationship ------------------------------------------------------------------------

contact_facts as (

    select
        account_id,
        sum(
            case
                when
                    is_decision_maker and not is_active
                    and cast(updated_at as date) > {{ date_add_days(-relationship_days, as_of_date()) }}
                    and cast(updated_at as date) <= {{ as_of_date() }}
                    then 1
                else 0
            end
        ) as key_contact_departures_180d,
        sum(case when is_decision_maker and is_active then 1 else 0 end) as active_decision_maker_count
    from contacts
    group by account_id

),

opportunity_facts as (

    select
        opportunities.account_id,
        sum(
            case
                when
                    not coalesce(opportunities.is_won, false)
                    and opportunities.competitor is not null
                    and opportunities.closed_at is not null
                    and {{ in_window('cast(opportunities.closed_at as date)', as_of_date(), 0, months) }}
                    then 1
                else 0
            end
        ) as opportunities_lost_to_competitor_t12m,
        sum(
            case
                when opportunities.closed_at is null or cast(opportunities.closed_at as date) > {{ as_of_date() }}
                    then 1
                else 0
            end
        ) as open_opportunity_count,
        sum(
            case
                when opportunities.closed_at is null or cast(opportunities.closed_at as date) > {{ as_of_date() }}
                    then
                        opportunities.amount * coalesce(opportunities.probability, 0)
                        * case
                            when opportunities.currency = '{{ var("base_currency") }}' then 1.0
                            else fx_rates.rate_to_base
                        end
                else 0
            end
        ) as weighted_open_pipeline_base
    from opportunities
    left join fx_rates
        on
            opportunities.currency = fx_rates.currency
            and {{ as_of_date() }} >= fx_rates.valid_from_date
            and {{ as_of_date() }} < fx_rates.valid_to_date
    group by opportunities.account_id

),

-- all facts per customer --------------------------------------------------------------

joined as (

    select
        customers.customer_key,
        customers.account_id,
        customers.customer_id,
        order_history.first_order_date,
        order_history.last_order_date,
        {{ dbt.datediff('order_history.first_order_date', as_of_date(), 'day') }} as tenure_days,  -- noqa: LT05
        rfm_scores.recency_days,
        coalesce(order_history.order_count_total, 0) as order_count_total,
        coalesce(order_history.order_count_t12m, 0) as order_count_t12m,
        rfm_scores.recency_score,
        rfm_scores.frequency_score,
        rfm_scores.monetary_score,
        coalesce(windowed.revenue_t12m, 0) as revenue_t12m,
        coalesce(windowed.gross_margin_t12m, 0) as gross_margin_t12m,
        coalesce(windowed.revenue_prior_12m, 0) as revenue_prior_12m,
        coalesce(windowed.gross_margin_prior_12m, 0) as gross_margin_prior_12m,
        coalesce(order_history.revenue_lifetime, 0) as revenue_lifetime,
        coalesce(line_history.gross_margin_lifetime, 0) as gross_margin_lifetime,
        coalesce(line_history.distinct_products_t12m, 0) as distinct_products_t12m,
        coalesce(line_history.distinct_categories_t12m, 0) as distinct_categories_t12m,
        category_count.category_count,
        line_history.discount_amount_t12m,
        line_history.list_amount_t12m,
        coalesce(ticket_facts.ticket_count_t12m, 0) as ticket_count_t12m,
        coalesce(activity_facts.activity_count_t12m, 0) as activity_count_t12m,
        coalesce(activity_facts.activity_cost_t12m, 0)
        + {{ unit_costs.get('ticket', 0) }} * coalesce(ticket_facts.ticket_count_t12m, 0) as cost_to_serve_t12m,
        coalesce(payment_facts.invoices_due_t12m, 0) as invoices_due_t12m,
        payment_facts.invoices_late_share_t12m,
        payment_facts.average_days_paid_late_t12m,
        coalesce(payment_facts.overdue_invoice_count, 0) as overdue_invoice_count,
        coalesce(payment_facts.overdue_amount_base, 0) as overdue_amount_base,
        payment_facts.max_days_overdue,
        survey_facts.latest_nps_score,
        survey_facts.latest_nps_score - survey_facts.previous_nps_score as nps_score_change,
        survey_facts.latest_csat_score,
        survey_facts.latest_csat_score - survey_facts.previous_csat_score as csat_score_change,
        coalesce(ticket_facts.open_ticket_count, 0) as open_ticket_count,
        coalesce(ticket_facts.open_complaint_count, 0) as open_complaint_count,
        ticket_facts.oldest_open_complaint_age_days,
        activity_facts.last_touchpoint_at,
        {{ dbt.datediff('cast(activity_facts.last_touchpoint_at as date)', as_of_date(), 'day') }}
            as days_since_last_touchpoint,
        case
            when
                customers.owner_assigned_at is not null
                and cast(customers.owner_assigned_at as date) > {{ date_add_days(-relationship_days, as_of_date()) }}
                and cast(customers.owner_assigned_at as date) <= {{ as_of_date() }}
                and customers.owner_assigned_at > {{ dbt.dateadd('day', 1, 'customers.account_created_at') }}
                then 1
            else 0
        end as account_manager_changes_180d,
        coalesce(contact_facts.key_contact_departures_180d, 0) as key_contact_departures_180d,
        coalesce(contact_facts.active_decision_maker_count, 0) as active_decision_maker_count,
        coalesce(opportunity_facts.opportunities_lost_to_competitor_t12m, 0) as opportunities_lost_to_competitor_t12m,
        coalesce(opportunity_facts.open_opportunity_count, 0) as open_opportunity_count,
        coalesce(opportunity_facts.weighted_open_pipeline_base, 0) as weighted_open_pipeline_base
    from customers
    cross join category_count
    left join order_history
        on customers.customer_id = order_history.customer_id
    left join rfm_scores
        on customers.customer_id = rfm_scores.customer_id
    left join windowed
        on customers.customer_id = windowed.customer_id
    left join line_history
        on customers.customer_id = line_history.customer_id
    left join payment_facts
        on customers.customer_id = payment_facts.customer_id
    left join activity_facts
        on customers.account_id = activity_facts.account_id
    left join ticket_facts
        on customers.account_id = ticket_facts.account_id
    left join survey_facts
        on customers.account_id = survey_facts.account_id
    left join contact_facts
        on customers.account_id = contact_facts.account_id
    left join opportunity_facts
        on customers.account_id = opportunity_facts.account_id

),

final as (

    select
        customer_key,
        account_id,
        customer_id,
        {{ as_of_date() }} as as_of_date,
        first_order_date,
        last_order_date,
        cast(tenure_days as integer) as tenure_days,
        cast(recency_days as integer) as recency_days,
        cast(order_count_total as integer) as order_count_total,
        cast(order_count_t12m as integer) as order_count_t12m,
        recency_score,
        frequency_score,
        monetary_score,
        cast(recency_score as {{ dbt.type_string() }})
        || cast(frequency_score as {{ dbt.type_string() }})
        || cast(monetary_score as {{ dbt.type_string() }}) as rfm_code,
        revenue_t12m,
        gross_margin_t12m,
        revenue_prior_12m,
        gross_margin_prior_12m,
        case when revenue_prior_12m <> 0 then (revenue_t12m - revenue_prior_12m) / revenue_prior_12m end
            as revenue_change_share,
        case
            when gross_margin_prior_12m > 0 then (gross_margin_t12m - gross_margin_prior_12m) / gross_margin_prior_12m
        end as gross_margin_change_share,
        case when revenue_t12m > 0 then gross_margin_t12m / revenue_t12m end as gross_margin_rate_t12m,
        revenue_lifetime,
        gross_margin_lifetime,
        cast(distinct_products_t12m as integer) as distinct_products_t12m,
        cast(distinct_categories_t12m as integer) as distinct_categories_t12m,
        case when category_count > 0 then {{ as_double('distinct_categories_t12m') }} / category_count else 0.0 end
            as category_share_t12m,
        case when order_count_t12m > 0 then revenue_t12m / order_count_t12m end as average_order_value_t12m,
        case when list_amount_t12m > 0 then discount_amount_t12m / list_amount_t12m end as average_discount_share_t12m,
        cast(ticket_count_t12m as integer) as ticket_count_t12m,
        cast(activity_count_t12m as integer) as activity_count_t12m,
        cast(cost_to_serve_t12m as {{ type_double() }}) as cost_to_serve_t12m,
        gross_margin_t12m - cost_to_serve_t12m as margin_after_cost_to_serve_t12m,
        cast(invoices_due_t12m as integer) as invoices_due_t12m,
        invoices_late_share_t12m,
        cast(average_days_paid_late_t12m as {{ type_double() }}) as average_days_paid_late_t12m,
        cast(overdue_invoice_count as integer) as overdue_invoice_count,
        overdue_amount_base,
        cast(max_days_overdue as integer) as max_days_overdue,
        latest_nps_score,
        nps_score_change,
        latest_csat_score,
        csat_score_change,
        cast(open_ticket_count as integer) as open_ticket_count,
        cast(open_complaint_count as integer) as open_complaint_count,
        cast(oldest_open_complaint_age_days as integer) as oldest_open_complaint_age_days,
        last_touchpoint_at,
        cast(days_since_last_touchpoint as integer) as days_since_last_touchpoint,
        cast(account_manager_changes_180d as integer) as account_manager_changes_180d,
        cast(key_contact_departures_180d as integer) as key_contact_departures_180d,
        cast(active_decision_maker_count as integer) as active_decision_maker_count,
        cast(opportunities_lost_to_competitor_t12m as integer) as opportunities_lost_to_competitor_t12m,
        cast(open_opportunity_count as integer) as open_opportunity_count,
        cast(weighted_open_pipeline_base as {{ type_double() }}) as weighted_open_pipeline_base
    from joined

)

select * from final
