-- The checks the run's data could not support (models/intermediate/int_data_coverage.sql),
-- one row per alert rule or health score component with an optional input entity: BI tools,
-- the run summary and the data team's coverage warning read it.

with

coverage as (

    select * from {{ ref('int_data_coverage') }}

),

final as (

    select
        {{ as_of_date() }} as as_of_date,
        check_type,
        check_name,
        input_entity,
        input_row_count,
        is_active,
        inactive_reason
    from coverage

)

select * from final
