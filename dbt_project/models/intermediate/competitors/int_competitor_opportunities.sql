-- Opportunities that name a competitor, as of the run date: the account's ERP customer and
-- whether it is a key account (class A or a key-account score), the outcome (won, lost,
-- open), the amount in the base currency (at the rate of the closing date; of the run date
-- while open) and the window it closed in: the trailing 12 months (as_of - 12 months, as_of]
-- or the 12 months before them.

with

opportunities as (

    select * from {{ ref('stg_crm__opportunities') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

tiers as (

    select * from {{ ref('customer_tiers') }}

),

fx_rates as (

    select * from {{ ref('int_fx_rates_ranged') }}

),

named as (

    select
        opportunities.opportunity_id,
        opportunities.account_id,
        customers.customer_id,
        customers.owner_id,
        trim(opportunities.competitor) as competitor,
        case
            when opportunities.closed_at is null then 'open'
            when coalesce(opportunities.is_won, false) then 'won'
            else 'lost'
        end as outcome,
        cast(opportunities.closed_at as date) as closed_date,
        coalesce(cast(opportunities.closed_at as date), {{ as_of_date() }}) as rate_date,
        opportunities.amount,
        coalesce(opportunities.currency, '{{ var("base_currency") }}') as currency
    from opportunities
    left join customers
        on opportunities.account_id = customers.account_id
    where nullif(trim(opportunities.competitor), '') is not null

),

converted as (

    select
        named.*,
        named.amount
        * case
            when named.currency = '{{ var("base_currency") }}' then 1.0
            else amount_rates.rate_to_base
        end as amount_base
    from named
    {{ fx_rate_join('fx_rates', 'amount_rates', 'named.currency', 'named.rate_date') }}

),

final as (

    select
        converted.opportunity_id,
        converted.account_id,
        converted.customer_id,
        converted.owner_id,
        converted.competitor,
        converted.outcome,
        converted.closed_date,
        converted.amount_base,
        case
            when {{ in_window('converted.closed_date', as_of_date(), 0, 12) }} then 'trailing_12m'
            when {{ in_window('converted.closed_date', as_of_date(), 12, 24) }} then 'prior_12m'
        end as closed_window,
        coalesce({{ is_alert_key_account('tiers') }}, false) as is_key_account,
        tiers.gross_margin_t12m
    from converted
    left join tiers
        on converted.customer_id = tiers.customer_id

)

select * from final
