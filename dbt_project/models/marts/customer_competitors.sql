-- One row per key account (class A or a key-account score) and competitor named on one of
-- its opportunities, as of the run date: opportunities won and lost against the competitor in
-- the trailing 12 months and ever, open ones, amounts in the base currency, the last
-- closing date, whether the competitor is present now (an open opportunity, or one closed in
-- the trailing 12 months), and the account's trailing-12-month gross margin at stake.

with

competitor_opportunities as (

    select * from {{ ref('int_competitor_opportunities') }}
    where is_key_account

),

customers as (

    select * from {{ ref('dim_customers') }}

),

per_account as (

    select
        customer_id,
        competitor,
        sum(case when outcome = 'won' and closed_window = 'trailing_12m' then 1 else 0 end)
            as opportunities_won_t12m,
        sum(case when outcome = 'lost' and closed_window = 'trailing_12m' then 1 else 0 end)
            as opportunities_lost_t12m,
        sum(case when outcome = 'won' and closed_window = 'trailing_12m' then amount_base else 0 end)
            as amount_won_base_t12m,
        sum(case when outcome = 'lost' and closed_window = 'trailing_12m' then amount_base else 0 end)
            as amount_lost_base_t12m,
        sum(case when outcome = 'won' then 1 else 0 end) as opportunities_won,
        sum(case when outcome = 'lost' then 1 else 0 end) as opportunities_lost,
        sum(case when outcome = 'open' then 1 else 0 end) as open_opportunities,
        sum(case when outcome = 'open' then amount_base else 0 end) as open_amount_base,
        max(closed_date) as last_closed_date,
        max(coalesce(gross_margin_t12m, 0)) as gross_margin_t12m
    from competitor_opportunities
    group by customer_id, competitor

),

final as (

    select
        per_account.customer_id || '|' || per_account.competitor as customer_competitor_key,
        {{ as_of_date() }} as as_of_date,
        per_account.customer_id,
        customers.account_id,
        customers.account_name,
        customers.owner_id,
        per_account.competitor,
        cast(per_account.opportunities_won_t12m as integer) as opportunities_won_t12m,
        cast(per_account.opportunities_lost_t12m as integer) as opportunities_lost_t12m,
        per_account.amount_won_base_t12m,
        per_account.amount_lost_base_t12m,
        cast(per_account.opportunities_won as integer) as opportunities_won,
        cast(per_account.opportunities_lost as integer) as opportunities_lost,
        cast(per_account.open_opportunities as integer) as open_opportunities,
        per_account.open_amount_base,
        per_account.last_closed_date,
        per_account.open_opportunities > 0
        or per_account.opportunities_won_t12m + per_account.opportunities_lost_t12m > 0 as is_present,
        per_account.gross_margin_t12m as margin_at_stake_base,
        '{{ var("base_currency") }}' as base_currency
    from per_account
    inner join customers
        on per_account.customer_id = customers.customer_id

)

select * from final
