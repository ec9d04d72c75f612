"""PostgreSQL as a warehouse target (``KAM_WAREHOUSE=postgres``; README "PostgreSQL target").

- :mod:`.target`: which warehouse, and the PostgreSQL connection (environment variables or the
  Airflow connection ``kam_warehouse_postgres``; the password never reaches code or logs).
- :mod:`.lake_load`: the landed Parquet lake into the ``raw_<source>`` schemas, in Arrow batches.
- :mod:`.host_models`: the dbt Python models (CLV fit, scores, horizons, plan forecasts), run
  by this process with the same ``kam_transforms.clv`` code dbt-duckdb runs.
- :mod:`.build`: ``dbt build`` on PostgreSQL in phases around those Python models.
- :mod:`.publish`: the serving schema swapped in one transaction.
"""
