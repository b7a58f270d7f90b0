"""Alembic environment: `etl init` passes an open connection in config.attributes."""

from alembic import context
from sqlalchemy import text

VERSION_SCHEMA = "etl"

connection = context.config.attributes["connection"]
connection.execute(text(f"create schema if not exists {VERSION_SCHEMA}"))
context.configure(
    connection=connection,
    version_table_schema=VERSION_SCHEMA,
    transactional_ddl=True,
)
with context.begin_transaction():
    context.run_migrations()
