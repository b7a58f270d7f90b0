"""stg_x12: a BRIN index on load_id in place of the b-tree on (load_id, position).

Revision ID: 0008
Revises: 0007

The staging tables are only appended to, a load at a time, so a load's rows sit
together and a BRIN index (a few pages: the range of load_id per block range) finds
them as well as a b-tree for what reads one load (the landing gate, `where load_id in
(...)`), while COPY no longer pays for a b-tree entry per row: landing an 837I of 1.4 MB
spent a fifth of its COPY time keeping the b-trees (benchmarks/README.md, issue 4,
session 5). The dbt models read whole tables and join them by hash; no query looks a
row up by its position.
"""

from alembic import op

from etl.sources.x12.tables import SCHEMA, TABLES

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Migration 0005's b-tree keys, by table.
_KEYS = {
    "transaction_sets": "load_id, set_position",
    "claims": "load_id, claim_position",
    "claim_codes": "load_id, claim_position",
    "service_lines": "load_id, claim_position",
    "remittances": "load_id, set_position",
    "claim_payments": "load_id, clp_position",
    "service_payments": "load_id, clp_position",
    "adjustments": "load_id, clp_position",
    "remarks": "load_id, clp_position",
    "provider_adjustments": "load_id, set_position",
}


def upgrade() -> None:
    for table in TABLES:
        op.execute(f"drop index if exists {SCHEMA}.{table.name}_keys")
        op.execute(f"create index {table.name}_load on {SCHEMA}.{table.name} "
                   "using brin (load_id)")


def downgrade() -> None:
    for table, columns in _KEYS.items():
        op.execute(f"drop index if exists {SCHEMA}.{table}_load")
        op.execute(f"create index {table}_keys on {SCHEMA}.{table} ({columns})")
