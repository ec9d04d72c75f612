# The image every Airflow component of docker-compose.yml runs: Airflow with this project.
FROM apache/airflow:3.3.2-python3.11
USER root
RUN apt-get update && apt-get install -y --no-install-recommends make && rm -rf /var/lib/apt/lists/*
USER airflow
COPY --chown=airflow:root pyproject.toml constraints.txt README.md /opt/kam/
COPY --chown=airflow:root kam_transforms /opt/kam/kam_transforms
COPY --chown=airflow:root expectations /opt/kam/expectations
COPY --chown=airflow:root dbt_project /opt/kam/dbt_project
COPY --chown=airflow:root dags /opt/airflow/dags
RUN pip install --no-cache-dir -c /opt/kam/constraints.txt -e "/opt/kam[celery]"

