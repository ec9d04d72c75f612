{#
    Generic data tests written in the project (dbt packages from the hub are not installed).
#}

{#
    expression_is_true: every row (optionally those matching a `where` config) satisfies a
    boolean SQL expression; fails with the rows that do not.
    On a model the expression is complete and a null result fails:
        - expression_is_true: {arguments: {expression: "x between 0 and 1"}}
    On a column it is appended to the column, and rows where the column is null are not
    checked (that is not_null's job):
        - expression_is_true: {arguments: {expression: "between 0 and 1"}}
#}
{% test expression_is_true(model, expression, column_name=none) %}

    select *
    from {{ model }}
    {% if column_name is none -%}
    where not coalesce(({{ expression }}), false)
    {%- else -%}
    where {{ column_name }} is not null and not ({{ column_name }} {{ expression }})
    {%- endif %}

{% endtest %}


{# unique_combination_of_columns: no two rows share the same values of the listed columns. #}
{% test unique_combination_of_columns(model, combination_of_columns) %}

    select
        {{ combination_of_columns | join(', ') }},
        count(*) as row_count
    from {{ model }}
    group by {{ combination_of_columns | join(', ') }}
    having count(*) > 1

{% endtest %}


{# equal_row_count_to: the model has as many rows as another relation (optionally filtered). #}
{% test equal_row_count_to(model, compare_model, compare_where=none) %}

    with

    model_rows as (

        select count(*) as row_count from {{ model }}

    ),

    compare_rows as (

        select count(*) as row_count from {{ compare_model }}
        {% if compare_where %}where {{ compare_where }}{% endif %}

    )

    select
        model_rows.row_count as model_row_count,
        compare_rows.row_count as compare_row_count
    from model_rows
    cross join compare_rows
    where model_rows.row_count <> compare_rows.row_count

{% endtest %}


{#
    valid_history: an SCD2 table's versions of each key are valid intervals that follow one
    another: no version ends before or when it starts, no two overlap, and only the last
    one is open (valid_to null). Fails with the offending versions.
#}
{% test valid_history(model, unique_key, valid_from='dbt_valid_from', valid_to='dbt_valid_to') %}

    with

    versions as (

        select
            {{ unique_key }} as history_key,
            {{ valid_from }} as valid_from,
            {{ valid_to }} as valid_to,
            lead({{ valid_from }}) over (
                partition by {{ unique_key }} order by {{ valid_from }}, {{ valid_to }}
            ) as next_valid_from
        from {{ model }}

    )

    select *
    from versions
    where
        valid_to <= valid_from
        or (next_valid_from is not null and valid_to is null)
        or next_valid_from < valid_to

{% endtest %}
