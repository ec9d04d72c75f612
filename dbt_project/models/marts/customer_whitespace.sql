-- One row per key account (class A or is_key_account) and catalogue category it did not buy
-- in the trailing window: what similar accounts (same ABC class and industry; a null industry
-- is its own group) do with that category.
--   similar_account_count: the other ordering customers of the group;
--   buying_account_count: those that bought the category in the trailing window;
--   buying_share = buying_account_count / similar_account_count;
--   peer_median_category_margin: median trailing gross margin of the buyers in the category;
--   opportunity_value = buying_share x greatest(peer_median_category_margin, 0): the margin
--     one would expect from the category at the peers' adoption rate (0 when no peer buys);
--   opportunity_rank: 1 for the account's largest opportunity (ties by category).

{%- set months = var('trailing_months') | int %}

with

tiers as (

    select * from {{ ref('customer_tiers') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

products as (

    select * from {{ ref('stg_erp__products') }}

),

order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

categories as (

    select distinct coalesce(category, '(none)') as product_category
    from products

),

grouped as (

    select
        tiers.customer_id,
        customers.account_id,
        tiers.abc_class,
        customers.industry,
        coalesce(customers.industry, '(none)') as industry_group,
        {{ is_alert_key_account('tiers') }} as is_key_account,
        tiers.revenue_t12m
    from tiers
    left join customers
        on tiers.customer_id = customers.customer_id

),

category_margins as (

    select
        customer_id,
        coalesce(product_category, '(none)') as product_category,
        sum(gross_margin_base) as category_margin_t12m
    from order_lines
    where {{ in_window('order_date', as_of_date(), 0, months) }}
    group by customer_id, coalesce(product_category, '(none)')

),

group_sizes as (

    select
        abc_class,
        industry_group,
        count(*) as ordering_customer_count
    from grouped
    where revenue_t12m > 0
    group by abc_class, industry_group

),

group_category_buyers as (

    select
        grouped.abc_class,
        grouped.industry_group,
        category_margins.product_category,
        count(*) as buying_account_count,
        {{ median('category_margins.category_margin_t12m') }} as peer_median_category_margin
    from category_margins
    inner join grouped
        on category_margins.customer_id = grouped.customer_id
    group by grouped.abc_class, grouped.industry_group, category_margins.product_category

),

whitespace as (

    select
        grouped.customer_id,
        grouped.account_id,
        grouped.abc_class,
        grouped.industry,
        grouped.industry_group,
        grouped.revenue_t12m,
        categories.product_category
    from grouped
    cross join categories
    left join category_margins
        on
            grouped.customer_id = category_margins.customer_id
            and categories.product_category = category_margins.product_category
    where grouped.is_key_account and category_margins.customer_id is null

),

valued as (

    select
        whitespace.*,
        -- the account itself orders (it is a key account) unless it has no trailing revenue
        coalesce(group_sizes.ordering_customer_count, 0)
        - case when whitespace.revenue_t12m > 0 then 1 else 0 end as similar_account_count,
        coalesce(group_category_buyers.buying_account_count, 0) as buying_account_count,
        group_category_buyers.peer_median_category_margin
    from whitespace
    left join group_sizes
        on
            whitespace.abc_class = group_sizes.abc_class
            and whitespace.industry_group = group_sizes.industry_group
    left join group_category_buyers
        on
            whitespace.abc_class = group_category_buyers.abc_class
            and whitespace.industry_group = group_category_buyers.industry_group
            and whitespace.product_category = group_category_buyers.product_category

),

shared as (

    select
        valued.*,
        case
            when valued.similar_account_count > 0
                then {{ as_double('valued.buying_account_count') }} / valued.similar_account_count
            else 0.0
        end as buying_share
    from valued

),

final as (

    select
        customer_id,
        product_category,
        {{ as_of_date() }} as as_of_date,
        account_id,
        abc_class,
        industry,
        cast(similar_account_count as integer) as similar_account_count,
        cast(buying_account_count as integer) as buying_account_count,
        buying_share,
        peer_median_category_margin,
        buying_share * greatest(coalesce(peer_median_category_margin, 0), 0) as opportunity_value,
        cast(row_number() over (
            partition by customer_id
            order by buying_share * greatest(coalesce(peer_median_category_margin, 0), 0) desc, product_category
        ) as integer) as opportunity_rank
    from shared

)

select * from final
