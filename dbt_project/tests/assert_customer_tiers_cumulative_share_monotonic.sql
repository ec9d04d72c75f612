-- Invariant: cumulative_share never decreases along measure_rank (and ranks are 1..n).
-- Returns the offending rows.

with

tiers as (

    select * from {{ ref('customer_tiers') }}

),

ordered as (

    select
        customer_id,
        measure_rank,
        cumulative_share,
        lag(cumulative_share) over (order by measure_rank) as previous_cumulative_share,
        row_number() over (order by measure_rank) as position
    from tiers

)

select *
from ordered
where
    cumulative_share < previous_cumulative_share - 1e-12
    or measure_rank <> position
