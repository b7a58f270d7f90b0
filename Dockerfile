# The etl command line, for docker-compose.yml (the warehouse is the postgres service).
FROM python:3.11-slim
WORKDIR /opt/etl
COPY pyproject.toml requirements.lock README.md ./
COPY etl ./etl
COPY dbt_project ./dbt_project
COPY migrations ./migrations
COPY vocab ./vocab
RUN pip install --no-cache-dir -c requirements.lock . \
    && useradd --system --home /var/lib/etl etl \
    && mkdir -p /var/lib/etl && chown etl /var/lib/etl
USER etl
ENTRYPOINT ["etl"]
