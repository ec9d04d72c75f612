-- One row per competitor named on an opportunity, as of the run date: opportunities won and
-- lost against it in the trailing 12 months and the 12 months before (amounts in the base
-- currency), win rates and their change, open opportunities against it, and the key
-- accounts where it is present (an open opportunity, or one closed in the trailing 12
-- months) with their trailing-12-month gross margin: the margin at stake.

with

competitor_opportunities as (

    select * from {{ ref('int_competitor_opportunities') }}

),

outcomes as (

    select
        competitor,
        sum(case when outcome = 'won' and closed_window = 'trailing_12m' then 1 else 0 end)
            as opportunities_won_t12m,
        sum(case when outcome = 'won' and closed_window = 'trailing_12m' then amount_base else 0 end)
            as amount_won_base_t12m,
        sum(case when outcome = 'lost' and closed_window = 'trailing_12m' then 1 else 0 end)
            as opportunities_lost_t12m,
        sum(case when outcome = 'lost' and closed_window = 'trailing_12m' then amount_base else 0 end)
            as amount_lost_base_t12m,
        sum(case when outcome = 'won' and closed_window = 'prior_12m' then 1 else 0 end)
            as opportunities_won_prior_12m,
        sum(case when outcome = 'won' and closed_window = 'prior_12m' then amount_base else 0 end)
            as amount_won_base_prior_12m,
        sum(case when outcome = 'lost' and closed_window = 'prior_12m' then 1 else 0 end)
            as opportunities_lost_prior_12m,
        sum(case when outcome = 'lost' and closed_window = 'prior_12m' then amount_base else 0 end)
            as amount_lost_base_prior_12m,
        sum(case when outcome = 'open' then 1 else 0 end) as open_opportunities,
        sum(case when outcome = 'open' then amount_base else 0 end) as open_amount_base
    from competitor_opportunities
    group by competitor

),

key_account_presence as (

    select distinct
        competitor,
        customer_id,
        coalesce(gross_margin_t12m, 0) as gross_margin_t12m,
        outcome = 'open' or closed_window = 'trailing_12m' as is_present,
        closed_window = 'prior_12m' as was_present_prior_12m
    from competitor_opportunities
    where is_key_account

),

presence as (

    select
        competitor,
        count(distinct case when is_present then customer_id end) as key_accounts_present,
        count(distinct case when was_present_prior_12m then customer_id end) as key_accounts_present_prior_12m
    from key_account_presence
    group by competitor

),

margin_at_stake as (

    select
        competitor,
        sum(gross_margin_t12m) as margin_at_stake_base
    from (
        select distinct
            competitor,
            customer_id,
            gross_margin_t12m
        from key_account_presence
        where is_present
    ) as present_accounts
    group by competitor

),

rated as (

    select
        outcomes.*,
        case
            when outcomes.opportunities_won_t12m + outcomes.opportunities_lost_t12m > 0
                then
                    {{ as_double('outcomes.opportunities_won_t12m') }}
                    / (outcomes.opportunities_won_t12m + outcomes.opportunities_lost_t12m)
        end as win_rate_t12m,
        case
            when outcomes.opportunities_won_prior_12m + outcomes.opportunities_lost_prior_12m > 0
                then
                    {{ as_double('outcomes.opportunities_won_prior_12m') }}
                    / (outcomes.opportunities_won_prior_12m + outcomes.opportunities_lost_prior_12m)
        end as win_rate_prior_12m,
        coalesce(presence.key_accounts_present, 0) as key_accounts_present,
        coalesce(presence.key_accounts_present_prior_12m, 0) as key_accounts_present_prior_12m,
        coalesce(margin_at_stake.margin_at_stake_base, 0) as margin_at_stake_base
    from outcomes
    left join presence
        on outcomes.competitor = presence.competitor
    left join margin_at_stake
        on outcomes.competitor = margin_at_stake.competitor

),

final as (

    select
        competitor,
        {{ as_of_date() }} as as_of_date,
        cast(opportunities_won_t12m as integer) as opportunities_won_t12m,
        cast(opportunities_lost_t12m as integer) as opportunities_lost_t12m,
        amount_won_base_t12m,
        amount_lost_base_t12m,
        win_rate_t12m,
        cast(opportunities_won_prior_12m as integer) as opportunities_won_prior_12m,
        cast(opportunities_lost_prior_12m as integer) as opportunities_lost_prior_12m,
        amount_won_base_prior_12m,
        amount_lost_base_prior_12m,
        win_rate_prior_12m,
        win_rate_t12m - win_rate_prior_12m as win_rate_change,
        cast(opportunities_lost_t12m - opportunities_lost_prior_12m as integer) as opportunities_lost_change,
        cast(open_opportunities as integer) as open_opportunities,
        open_amount_base,
        cast(key_accounts_present as integer) as key_accounts_present,
        cast(key_accounts_present_prior_12m as integer) as key_accounts_present_prior_12m,
        cast(key_accounts_present - key_accounts_present_prior_12m as integer) as key_accounts_present_change,
        margin_at_stake_base,
        '{{ var("base_currency") }}' as base_currency
    from rated

)

select * from final
