"""The `vocab` schema: the ten OMOP CDM v5.4 vocabulary tables, primary keys and indexes.

Revision ID: 0002
Revises: 0001

The DDL is built from the official v5.4 field-level CSV and index list shipped in
etl/omop/cdm_v54/ rather than written out here. OMOP CDM v5.4 is a frozen release, so the
files under an applied migration cannot change meaning; one copy of the spec then drives
the DDL, the conformance tests and the column docs. A later CDM version would ship its
own spec files and get its own migration.

Foreign keys are left out on purpose: the quality gate checks them (DESIGN.md, "OMOP
target"). The vocabulary loader may drop and rebuild these indexes around a bulk COPY.
"""

from alembic import op

from etl.omop import spec

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SCHEMA = spec.VOCABULARY_SCHEMA


def upgrade() -> None:
    op.execute(f"create schema if not exists {spec.quote_ident(SCHEMA)}")
    for table in spec.VOCABULARY_TABLES:
        for statement in spec.table_ddl(SCHEMA, table):
            op.execute(statement)


def downgrade() -> None:
    for table in reversed(spec.VOCABULARY_TABLES):
        op.execute(f"drop table if exists {spec.quote_ident(SCHEMA)}.{spec.quote_ident(table)}")
    # Without cascade: anything else left in the schema stops the downgrade rather than
    # being dropped unseen.
    op.execute(f"drop schema if exists {spec.quote_ident(SCHEMA)}")
