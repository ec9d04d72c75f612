-- One row per currency and rate date with the date range the rate applies to:
-- [valid_from_date, valid_to_date). The latest rate on or before a date applies to it;
-- the first rate of a currency also applies to any earlier date (no earlier rate exists).

with

fx_rates as (

    select * from {{ ref('stg_erp__fx_rates') }}
    where rate_date <= {{ as_of_date() }}

),

ranged as (

    select
        currency,
        rate_date,
        rate_to_base,
        case
            when row_number() over (partition by currency order by rate_date) = 1
                then cast('1900-01-01' as date)
            else rate_date
        end as valid_from_date,
        coalesce(
            lead(rate_date) over (partition by currency order by rate_date),
            cast('9999-12-31' as date)
        ) as valid_to_date
    from fx_rates

)

select * from ranged
