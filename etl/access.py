"""Analyst access: read on the published OMOP tables and the vocabulary, nothing else.

Staging schemas and `etl` hold PHI (names, addresses, member ids) and stay closed. Each
publish replaces the `omop` schema, so the roles that could read the old one are granted
the new one in the same transaction (`carry_grants`).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from etl.errors import EtlError
from etl.warehouse import Warehouse

ANALYST_SCHEMAS = ("omop", "vocab")


def _quoted(conn: Connection, role: str) -> str:
    exists = conn.execute(sa.text("select 1 from pg_roles where rolname = :r"), {"r": role})
    if exists.first() is None:
        raise EtlError(f"role {role!r} does not exist: create it first (create role ... login)")
    return str(conn.execute(sa.text("select quote_ident(:r)"), {"r": role}).scalar_one())


def grant_schema_read(conn: Connection, role_sql: str, schema: str) -> None:
    conn.execute(sa.text(f"grant usage on schema {schema} to {role_sql}"))
    conn.execute(sa.text(f"grant select on all tables in schema {schema} to {role_sql}"))


def grant_analyst(warehouse: Warehouse, role: str) -> None:
    with warehouse.engine.begin() as conn:
        role_sql = _quoted(conn, role)
        for schema in ANALYST_SCHEMAS:
            grant_schema_read(conn, role_sql, schema)


def revoke_analyst(warehouse: Warehouse, role: str) -> None:
    with warehouse.engine.begin() as conn:
        role_sql = _quoted(conn, role)
        for schema in ANALYST_SCHEMAS:
            conn.execute(sa.text(f"revoke select on all tables in schema {schema} from {role_sql}"))
            conn.execute(sa.text(f"revoke usage on schema {schema} from {role_sql}"))


def carry_grants_sql(from_schema: str, to_schema: str) -> str:
    """SQL giving the readers of `from_schema` (other than its owner) the same read on
    `to_schema`; run it in the transaction that swaps one schema for the other."""
    return f"""
    do $$
    declare reader record;
    begin
        for reader in
            select quote_ident(r.rolname) as role_sql
            from pg_namespace n
            cross join lateral aclexplode(n.nspacl) as acl
            join pg_roles r on r.oid = acl.grantee
            where n.nspname = '{from_schema}' and acl.privilege_type = 'USAGE'
              and acl.grantee <> n.nspowner
        loop
            execute format('grant usage on schema %I to %s', '{to_schema}', reader.role_sql);
            execute format('grant select on all tables in schema %I to %s', '{to_schema}',
                           reader.role_sql);
        end loop;
    end $$;
    """
