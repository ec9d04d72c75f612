{{ config(materialized='table') }}

-- One row per invoice issued on or before the run date, with what was paid on it by the
-- run date, when it was settled, how late, and what is overdue, in invoice and base
-- currency (converted at the rate of the invoice date).

with

invoices as (

    select * from {{ ref('stg_erp__invoices') }}

),

payments as (

    select * from {{ ref('stg_erp__payments') }}

),

fx_rates as (

    select * from {{ ref('int_fx_rates_ranged') }}

),

valid_invoices as (

    select *
    from invoices
    where
        invoice_date <= {{ as_of_date() }}
        and coalesce(status, '') not in ({{ "'" ~ (var('cancelled_order_statuses') | join("', '")) ~ "'" }})

),

payments_to_date as (

    select
        invoice_id,
        sum(amount) as paid_amount,
        max(cast(paid_at as date)) as last_paid_date
    from payments
    where cast(paid_at as date) <= {{ as_of_date() }}
    group by invoice_id

),

settled as (

    select
        valid_invoices.invoice_id,
        valid_invoices.customer_id,
        valid_invoices.order_id,
        valid_invoices.invoice_date,
        valid_invoices.due_date,
        valid_invoices.currency,
        valid_invoices.amount,
        coalesce(payments_to_date.paid_amount, 0) as paid_amount,
        coalesce(payments_to_date.paid_amount, 0) >= valid_invoices.amount - 0.005 as is_settled,
        payments_to_date.last_paid_date
    from valid_invoices
    left join payments_to_date
        on valid_invoices.invoice_id = payments_to_date.invoice_id

),

converted as (

    select
        settled.*,
        case
            when settled.currency = '{{ var("base_currency") }}' then 1.0
            else fx_rates.rate_to_base
        end as fx_rate_to_base
    from settled
    left join fx_rates
        on
            settled.currency = fx_rates.currency
            and settled.invoice_date >= fx_rates.valid_from_date
            and settled.invoice_date < fx_rates.valid_to_date

),

final as (

    select
        invoice_id,
        customer_id,
        order_id,
        invoice_date,
        due_date,
        currency,
        amount,
        paid_amount,
        fx_rate_to_base,
        amount * fx_rate_to_base as amount_base,
        is_settled,
        case when is_settled then last_paid_date end as settled_date,
        case
            when is_settled
                then greatest({{ dbt.datediff('due_date', 'last_paid_date', 'day') }}, 0)
        end as days_paid_late,
        not is_settled and due_date < {{ as_of_date() }} as is_overdue,
        case
            when not is_settled and due_date < {{ as_of_date() }}
                then {{ dbt.datediff('due_date', as_of_date(), 'day') }}
        end as days_overdue,
        case
            when not is_settled and due_date < {{ as_of_date() }}
                then (amount - paid_amount) * fx_rate_to_base
            else 0
        end as overdue_amount_base,
        (is_settled and last_paid_date > due_date)
        or (not is_settled and due_date < {{ as_of_date() }}) as is_late
    from converted

)

select * from final
