"""Schema `stg_cclf`: one landing table per CCLF file, generated from the IP v38 layout.

Revision ID: 0004
Revises: 0003

The columns come from etl/sources/cclf/layouts/ip_v38.csv (CCLF Information Packet
v38, Appendix B). A later IP version is a new layout file plus a migration that alters
these tables; this one stays pinned to v38.
"""

from alembic import op

from etl.sources.cclf.layout import staging_ddl

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

IP_VERSION = "38"


def upgrade() -> None:
    op.execute("create schema if not exists stg_cclf")
    for statement in staging_ddl("stg_cclf", IP_VERSION):
        op.execute(statement)


def downgrade() -> None:
    op.execute("drop schema if exists stg_cclf cascade")
