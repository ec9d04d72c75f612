{#
    The table of a dbt Python model on an adapter without Python models (PostgreSQL): the
    pipeline's Python step (kam_transforms.pgwarehouse.host_models) ran the model's own file
    with the same kam_transforms code dbt-duckdb runs and wrote the table just before this
    node; the node only checks it is there, so refs, tests and lineage stay as on DuckDB.
#}
{% materialization host_python, default %}
    {%- set existing = adapter.get_relation(database=this.database, schema=this.schema, identifier=this.identifier) -%}
    {%- if existing is none -%}
        {{ exceptions.raise_compiler_error(
            "host_python model " ~ this ~ " has no table: on " ~ target.type ~ " it is written by "
            ~ "kam_transforms.pgwarehouse.build (run the build through `kam build`, not plain dbt)") }}
    {%- endif -%}
    {% call statement('main') -%}
        select count(*) from {{ existing }}
    {%- endcall %}
    {{ return({'relations': [existing]}) }}
{% endmaterialization %}
