"""The `omop` schema: every OMOP CDM v5.4 table outside the vocabulary, with keys and indexes.

Revision ID: 0003
Revises: 0002

As in 0002, the DDL is built from the official v5.4 spec files shipped in etl/omop/cdm_v54/:
v5.4 is frozen, so reading them here cannot change what this migration does, and the
spec stays the one source for the DDL, the conformance tests and the column docs.

Columns keep the spec's types (integer keys stay integer), order and NOT NULL. Foreign
keys are checked by the quality gate, not enforced (DESIGN.md, "OMOP target").
cohort and cohort_definition are created here too, as the official DDL does, although
the table-level CSV files them under a results schema.
"""

from alembic import op

from etl.omop import spec

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SCHEMA = spec.CDM_SCHEMA


def upgrade() -> None:
    op.execute(f"create schema if not exists {spec.quote_ident(SCHEMA)}")
    for table in spec.cdm_tables():
        for statement in spec.table_ddl(SCHEMA, table):
            op.execute(statement)


def downgrade() -> None:
    for table in reversed(spec.cdm_tables()):
        op.execute(f"drop table if exists {spec.quote_ident(SCHEMA)}.{spec.quote_ident(table)}")
    # Without cascade: anything else left in the schema stops the downgrade rather than
    # being dropped unseen.
    op.execute(f"drop schema if exists {spec.quote_ident(SCHEMA)}")
