"""Schema `stg_fhir`: every landed FHIR resource as JSONB with its type, id and version keys.

Revision ID: 0006
Revises: 0005

One table for all resource types (etl/sources/fhir/tables.py describes the columns):
FHIR resources are nested documents whose fields dbt extracts (models/staging/fhir/).
No index: the staging model that keeps the latest version of each resource reads and
sorts every row anyway, and an index on (type, id) nearly doubled the landing time
(benchmarks/fhir_land.py).
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("create schema if not exists stg_fhir")
    op.execute("""
        create table stg_fhir.resources (
            load_id       bigint not null,
            file_name     text not null,
            line_number   integer not null,
            resource_type text not null,
            resource_id   text not null,
            last_updated  timestamptz,
            version_id    text,
            is_deleted    boolean not null,
            resource      jsonb
        )
    """)


def downgrade() -> None:
    op.execute("drop schema if exists stg_fhir cascade")
