-- The hand-written DuckDB floor of the customer_facts core and the customer_tiers ABC core
-- (benchmarks/scale_core.py lists the columns), read straight from the landed lake.
--
-- Same definitions as the dbt models (staging latest_landed, int_fx_rates_ranged,
-- int_order_lines_converted, int_customer_revenue_windowed, customer_facts,
-- customer_tiers and macros/abc_classes.sql), written the way one would by hand: one
-- ASOF join for the fx rate, one pass over the order lines per customer.
-- $$-placeholders (dollar, brace, name) are filled by benchmarks/scale_core.py from dbt_project.yml's vars.

create temp macro landed_text(c) as nullif(trim(cast(c as varchar)), '');
create temp macro landed_double(c) as cast(landed_text(c) as double);
create temp macro landed_date(c) as cast(left(landed_text(c), 10) as date);
create temp macro exact_sum(x) as cast(sum(cast(x as decimal(38, 6))) as double);
create temp macro positive(x) as case when x > 0 then x else 0 end;

-- staging: the latest landed version of each key as of the run date, tombstones dropped

create temp table customers as
select landed_text(customer_id) as customer_id
from (
    select
        *,
        row_number() over (
            partition by customer_id
            order by cast(cast(as_of as varchar) as date) desc, _loaded_at desc, _batch_id desc
        ) as landed_rank
    from read_parquet('${lake}/raw/erp/customers/as_of=*/*.parquet', hive_partitioning = true, union_by_name = true)
    where cast(cast(as_of as varchar) as date) <= date '${as_of}'
)
where landed_rank = 1 and ${customers_live};

create temp table products as
select
    landed_text(product_id) as product_id,
    landed_text(category) as category,
    landed_double(unit_cost) as unit_cost,
    upper(landed_text(currency)) as currency
from (
    select
        *,
        row_number() over (
            partition by product_id
            order by cast(cast(as_of as varchar) as date) desc, _loaded_at desc, _batch_id desc
        ) as landed_rank
    from read_parquet('${lake}/raw/erp/products/as_of=*/*.parquet', hive_partitioning = true, union_by_name = true)
    where cast(cast(as_of as varchar) as date) <= date '${as_of}'
)
where landed_rank = 1 and ${products_live};

create temp table orders as
select
    landed_text(order_id) as order_id,
    landed_text(customer_id) as customer_id,
    landed_date(order_date) as order_date,
    coalesce(upper(landed_text(currency)), '${base_currency}') as currency
from (
    select
        *,
        row_number() over (
            partition by order_id
            order by cast(cast(as_of as varchar) as date) desc, _loaded_at desc, _batch_id desc
        ) as landed_rank
    from read_parquet('${lake}/raw/erp/orders/as_of=*/*.parquet', hive_partitioning = true, union_by_name = true)
    where cast(cast(as_of as varchar) as date) <= date '${as_of}'
)
where
    landed_rank = 1 and ${orders_live}
    and landed_date(order_date) <= date '${as_of}'
    and coalesce(lower(landed_text(status)), '') not in (${cancelled_statuses});

create temp table fx as
select currency, rate_date, rate_to_base
from (
    select
        upper(landed_text(currency)) as currency,
        landed_date(rate_date) as rate_date,
        landed_double(rate_to_base) as rate_to_base,
        row_number() over (
            partition by currency, rate_date
            order by cast(cast(as_of as varchar) as date) desc, _loaded_at desc, _batch_id desc
        ) as landed_rank,
        ${fx_rates_live} as is_live
    from read_parquet('${lake}/raw/erp/fx_rates/as_of=*/*.parquet', hive_partitioning = true, union_by_name = true)
    where cast(cast(as_of as varchar) as date) <= date '${as_of}'
)
where landed_rank = 1 and is_live and rate_date <= date '${as_of}';

-- the first rate of a currency also applies to any earlier date
create temp table fx_first as
select currency, arg_min(rate_to_base, rate_date) as rate_to_base
from fx
group by currency;

-- order lines of the valid orders, money in the base currency (the order date's rate)

create temp table lines as
with

landed_lines as (
    select
        landed_text(order_line_id) as order_line_id,
        landed_text(order_id) as order_id,
        landed_text(product_id) as product_id,
        landed_double(quantity) as quantity,
        landed_double(unit_price) as unit_price,
        landed_double(discount_pct) as discount_pct,
        landed_double(unit_cost) as unit_cost
    from (
        select
            *,
            row_number() over (
                partition by order_line_id
                order by cast(cast(as_of as varchar) as date) desc, _loaded_at desc, _batch_id desc
            ) as landed_rank
        from read_parquet('${lake}/raw/erp/order_lines/as_of=*/*.parquet', hive_partitioning = true, union_by_name = true)
        where cast(cast(as_of as varchar) as date) <= date '${as_of}'
    )
    where landed_rank = 1 and ${order_lines_live}
),

joined as (
    select
        orders.customer_id,
        orders.order_id,
        orders.order_date,
        landed_lines.product_id,
        products.category as product_category,
        landed_lines.quantity,
        landed_lines.unit_price,
        coalesce(landed_lines.discount_pct, 0) as discount_pct,
        coalesce(landed_lines.unit_cost, products.unit_cost) as unit_cost,
        orders.currency,
        case
            when landed_lines.unit_cost is not null then orders.currency
            else coalesce(products.currency, orders.currency)
        end as cost_currency
    from landed_lines
    inner join orders on landed_lines.order_id = orders.order_id
    left join products on landed_lines.product_id = products.product_id
),

priced as (
    select
        joined.*,
        case
            when joined.currency = '${base_currency}' then 1.0
            else coalesce(price_rate.rate_to_base, price_first.rate_to_base)
        end as fx_rate_to_base
    from joined
    asof left join fx as price_rate
        on joined.currency = price_rate.currency and joined.order_date >= price_rate.rate_date
    left join fx_first as price_first on joined.currency = price_first.currency
),

costed as (
    select
        priced.*,
        case
            when priced.cost_currency = '${base_currency}' then 1.0
            else coalesce(cost_rate.rate_to_base, cost_first.rate_to_base)
        end as cost_fx_rate_to_base
    from priced
    asof left join fx as cost_rate
        on priced.cost_currency = cost_rate.currency and priced.order_date >= cost_rate.rate_date
    left join fx_first as cost_first on priced.cost_currency = cost_first.currency
)

select
    customer_id,
    order_id,
    order_date,
    product_id,
    product_category,
    quantity * unit_price * (1 - discount_pct) * fx_rate_to_base as revenue_base,
    quantity * unit_price * (1 - discount_pct) * fx_rate_to_base
    - quantity * unit_cost * cost_fx_rate_to_base as gross_margin_base,
    quantity * unit_price * fx_rate_to_base as list_amount_base,
    discount_pct * quantity * unit_price * fx_rate_to_base as discount_amount_base,
    order_date > ${trailing_start} as is_trailing,
    order_date > ${prior_start} and order_date <= ${trailing_start} as is_prior,
    order_date > ${previous_start} and order_date <= ${previous_end} as is_previous
from costed;

-- one pass over the lines per customer

create temp table per_customer as
select
    customer_id,
    min(order_date) as first_order_date,
    max(order_date) as last_order_date,
    count(distinct order_id) as order_count_total,
    count(distinct case when is_trailing then order_id end) as order_count_t12m,
    exact_sum(case when is_trailing then revenue_base else 0 end) as revenue_t12m,
    exact_sum(case when is_trailing then gross_margin_base else 0 end) as gross_margin_t12m,
    exact_sum(case when is_prior then revenue_base else 0 end) as revenue_prior_12m,
    exact_sum(case when is_prior then gross_margin_base else 0 end) as gross_margin_prior_12m,
    exact_sum(case when is_previous then gross_margin_base else 0 end) as previous_gross_margin_t12m,
    exact_sum(revenue_base) as revenue_lifetime,
    exact_sum(gross_margin_base) as gross_margin_lifetime,
    count(distinct case when is_trailing then product_id end) as distinct_products_t12m,
    count(distinct case when is_trailing then product_category end) as distinct_categories_t12m,
    exact_sum(case when is_trailing then discount_amount_base else 0 end) as discount_amount_t12m,
    exact_sum(case when is_trailing then list_amount_base else 0 end) as list_amount_t12m
from lines
group by customer_id;

-- customer_facts core: one row per ERP customer; RFM scores among the ERP customers with
-- an order

create temp table rfm as
select
    customer_id,
    cast(1 + floor(5.0 * (rank() over (order by recency_days desc) - 1) / count(*) over ()) as integer)
        as recency_score,
    cast(1 + floor(5.0 * (rank() over (order by order_count_t12m asc) - 1) / count(*) over ()) as integer)
        as frequency_score,
    cast(1 + floor(5.0 * (rank() over (order by revenue_t12m asc) - 1) / count(*) over ()) as integer)
        as monetary_score
from (
    select
        customer_id,
        date_diff('day', last_order_date, date '${as_of}') as recency_days,
        order_count_t12m,
        revenue_t12m
    from per_customer
    where customer_id in (select customer_id from customers)
);

copy (
    select
        customers.customer_id,
        c.first_order_date,
        c.last_order_date,
        cast(date_diff('day', c.first_order_date, date '${as_of}') as integer) as tenure_days,
        cast(date_diff('day', c.last_order_date, date '${as_of}') as integer) as recency_days,
        cast(coalesce(c.order_count_total, 0) as integer) as order_count_total,
        cast(coalesce(c.order_count_t12m, 0) as integer) as order_count_t12m,
        rfm.recency_score,
        rfm.frequency_score,
        rfm.monetary_score,
        cast(rfm.recency_score as varchar) || cast(rfm.frequency_score as varchar)
        || cast(rfm.monetary_score as varchar) as rfm_code,
        coalesce(c.revenue_t12m, 0) as revenue_t12m,
        coalesce(c.gross_margin_t12m, 0) as gross_margin_t12m,
        coalesce(c.revenue_prior_12m, 0) as revenue_prior_12m,
        coalesce(c.gross_margin_prior_12m, 0) as gross_margin_prior_12m,
        case
            when coalesce(c.revenue_prior_12m, 0) <> 0
                then (c.revenue_t12m - c.revenue_prior_12m) / c.revenue_prior_12m
        end as revenue_change_share,
        case
            when coalesce(c.gross_margin_prior_12m, 0) > 0
                then (c.gross_margin_t12m - c.gross_margin_prior_12m) / c.gross_margin_prior_12m
        end as gross_margin_change_share,
        case when c.revenue_t12m > 0 then c.gross_margin_t12m / c.revenue_t12m end as gross_margin_rate_t12m,
        coalesce(c.revenue_lifetime, 0) as revenue_lifetime,
        coalesce(c.gross_margin_lifetime, 0) as gross_margin_lifetime,
        cast(coalesce(c.distinct_products_t12m, 0) as integer) as distinct_products_t12m,
        cast(coalesce(c.distinct_categories_t12m, 0) as integer) as distinct_categories_t12m,
        case
            when category_count.n > 0 then 1.0 * coalesce(c.distinct_categories_t12m, 0) / category_count.n
            else 0
        end as category_share_t12m,
        case
            when c.order_count_t12m > 0 then c.revenue_t12m / c.order_count_t12m
        end as average_order_value_t12m,
        case
            when c.list_amount_t12m > 0 then c.discount_amount_t12m / c.list_amount_t12m
        end as average_discount_share_t12m
    from customers
    cross join (select count(distinct category) as n from products) as category_count
    left join per_customer as c on customers.customer_id = c.customer_id
    left join rfm on customers.customer_id = rfm.customer_id
) to '${out}/customer_facts_core.parquet' (format parquet);

-- customer_tiers ABC core: one row per ERP customer (orders of other customer ids count for
-- no customer)

create temp table measured as
select
    customers.customer_id,
    coalesce(c.revenue_t12m, 0) as revenue_t12m,
    coalesce(c.gross_margin_t12m, 0) as gross_margin_t12m,
    coalesce(c.revenue_prior_12m, 0) as revenue_prior_12m,
    coalesce(c.gross_margin_t12m, 0) as measure_value,
    coalesce(c.previous_gross_margin_t12m, 0) as previous_measure_value
from customers
left join per_customer as c on customers.customer_id = c.customer_id;

copy (
    with

    running as (
        select
            *,
            row_number() over (order by measure_value desc, customer_id) as measure_rank,
            sum(positive(measure_value)) over (
                order by measure_value desc, customer_id rows between unbounded preceding and current row
            ) as running_measure,
            sum(positive(measure_value)) over () as total_measure,
            sum(positive(previous_measure_value)) over (
                order by previous_measure_value desc, customer_id
                rows between unbounded preceding and current row
            ) as previous_running_measure,
            sum(positive(previous_measure_value)) over () as previous_total_measure
        from measured
    ),

    shares as (
        select
            *,
            case when total_measure > 0 then least(1.0, running_measure / total_measure) else 0 end
                as cumulative_share,
            case
                when total_measure > 0 then (running_measure - positive(measure_value)) / total_measure
                else 1
            end as share_before,
            case
                when previous_total_measure > 0
                    then (previous_running_measure - positive(previous_measure_value)) / previous_total_measure
                else 1
            end as previous_share_before
        from running
    ),

    classified as (
        select
            *,
            case
                when measure_value <= 0 then 'C'
                when share_before < ${cutoff_a} then 'A'
                when share_before < ${cutoff_b} then 'B'
                else 'C'
            end as unbanded_abc_class,
            case
                when previous_measure_value <= 0 then 'C'
                when previous_share_before < ${cutoff_a} then 'A'
                when previous_share_before < ${cutoff_b} then 'B'
                else 'C'
            end as previous_abc_class
        from shares
    ),

    banded as (
        select
            *,
            case
                when measure_value <= 0 then 'C'
                when share_before < ${cutoff_a}
                    + case when previous_abc_class = 'A' then ${band} else -1.0 * (${band}) end then 'A'
                when share_before < ${cutoff_b}
                    + case when previous_abc_class in ('A', 'B') then ${band} else -1.0 * (${band}) end then 'B'
                else 'C'
            end as abc_class
        from classified
    )

    select
        customer_id,
        revenue_t12m,
        gross_margin_t12m,
        measure_value,
        cast(measure_rank as integer) as measure_rank,
        cumulative_share,
        abc_class,
        previous_abc_class,
        abc_class <> previous_abc_class as is_class_changed,
        revenue_prior_12m,
        case
            when revenue_prior_12m <> 0 then (revenue_t12m - revenue_prior_12m) / revenue_prior_12m
        end as revenue_change_share,
        unbanded_abc_class,
        share_before as cumulative_share_before,
        measure_value as current_value
    from banded
) to '${out}/customer_tiers_core.parquet' (format parquet);
