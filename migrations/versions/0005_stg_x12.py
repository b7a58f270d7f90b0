"""Schema `stg_x12`: landing tables for X12 837P, 837I and 835 transaction sets.

Revision ID: 0005
Revises: 0004

The tables and their columns come from etl/sources/x12/tables.py (each column names
the TR3 loop and element it is read from). A later change of those tables is a new
migration that alters them; this one stays as it is.
"""

from alembic import op

from etl.sources.x12.tables import SCHEMA, staging_ddl

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Join keys of the staging models: a set's rows, a claim's rows, a payment's rows.
INDEXES = (
    ("transaction_sets", "load_id, set_position"),
    ("claims", "load_id, claim_position"),
    ("claim_codes", "load_id, claim_position"),
    ("service_lines", "load_id, claim_position"),
    ("remittances", "load_id, set_position"),
    ("claim_payments", "load_id, clp_position"),
    ("service_payments", "load_id, clp_position"),
    ("adjustments", "load_id, clp_position"),
    ("remarks", "load_id, clp_position"),
    ("provider_adjustments", "load_id, set_position"),
)


def upgrade() -> None:
    op.execute(f"create schema if not exists {SCHEMA}")
    for statement in staging_ddl(SCHEMA):
        op.execute(statement)
    for table, columns in INDEXES:
        op.execute(f"create index {table}_keys on {SCHEMA}.{table} ({columns})")


def downgrade() -> None:
    op.execute(f"drop schema if exists {SCHEMA} cascade")
