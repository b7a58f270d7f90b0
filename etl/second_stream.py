"""A second COPY connection for a large unit, committed with the unit's own transaction.

PostgreSQL runs one COPY in one backend process, on one core. The server's work for
typed staging rows (a receive function per field, tuple forming) is what bounds landing
(issue 3, item 9; benchmarks/README.md): a second connection COPYing every other batch
puts the second core to work on it.

The unit must still land whole or not at all (etl/landing.py). The second connection's
transaction is prepared (PostgreSQL two-phase commit, PREPARE TRANSACTION) before the
unit's own transaction commits, and committed after it. The unit's transaction decides:
its load row exists with status 'landed' exactly when it committed. A landing that stops
between the two commits (a killed process, a lost connection) leaves a prepared
transaction named after its load; `settle_prepared` finishes it as its load row says.

The unit's transaction holds an advisory lock named after the prepared transaction until
it ends, so settling never decides for a landing that is still running.

Needs `max_prepared_transactions` above 0 (the embedded server sets it; PostgreSQL's
default is 0); without it landing uses one connection.
"""

from __future__ import annotations

import logging

import psycopg
from psycopg import sql

from etl.warehouse import Warehouse

log = logging.getLogger(__name__)

_PREFIX = "etl_land_"
# The advisory lock of a prepared transaction, by its name (a bigint key).
_LOCK_KEY = "hashtextextended(%s, 0)"


def transaction_name(load_id: int) -> str:
    return f"{_PREFIX}{load_id}"


def can_prepare(conn: psycopg.Connection) -> bool:
    row = conn.execute("select current_setting('max_prepared_transactions')::int").fetchone()
    return bool(row and row[0] > 0)


def hold_decision_lock(conn: psycopg.Connection, load_id: int) -> None:
    """Taken in the unit's transaction, before the second connection opens: released
    when that transaction ends, so `settle_prepared` waits for the decision."""
    conn.execute(f"select pg_advisory_xact_lock({_LOCK_KEY})", (transaction_name(load_id),))


class SecondStream:
    """The second connection of one load: COPY on `conn`, then `prepare`, then `settle`."""

    def __init__(self, warehouse: Warehouse, load_id: int) -> None:
        self.load_id = load_id
        self.conn = psycopg.connect(warehouse.libpq_url)
        self.prepared = False

    def prepare(self) -> None:
        """Called last before the unit's transaction commits."""
        self.conn.execute(sql.SQL("prepare transaction {}").format(
            sql.Literal(transaction_name(self.load_id))))
        self.prepared = True

    def settle(self) -> None:
        """After the unit's transaction ended (committed or not): commit the prepared
        rows if its load landed, else roll them back; then close the connection."""
        try:
            if self.prepared:
                self.conn.autocommit = True
                _settle(self.conn, transaction_name(self.load_id), self.load_id)
            else:
                self.conn.rollback()
        finally:
            self.conn.close()


def settle_prepared(warehouse: Warehouse) -> None:
    """Finish the prepared second streams of landings that stopped between their two
    commits; skip those whose landing still runs."""
    with warehouse.raw_connection(autocommit=True) as conn:
        names = [row[0] for row in conn.execute(
            "select gid from pg_prepared_xacts "
            "where database = current_database() and starts_with(gid, %s)", (_PREFIX,))]
        for name in names:
            load_id = int(name.removeprefix(_PREFIX))
            locked = conn.execute(f"select pg_try_advisory_lock({_LOCK_KEY})",
                                  (name,)).fetchone()
            if not (locked and locked[0]):
                continue  # its landing is still deciding
            try:
                _settle(conn, name, load_id)
            finally:
                conn.execute(f"select pg_advisory_unlock({_LOCK_KEY})", (name,))


def _settle(conn: psycopg.Connection, name: str, load_id: int) -> None:
    row = conn.execute("select status from etl.load where load_id = %s", (load_id,)).fetchone()
    landed = row is not None and row[0] == "landed"
    verb = "commit prepared {}" if landed else "rollback prepared {}"
    try:
        conn.execute(sql.SQL(verb).format(sql.Literal(name)))
    except psycopg.errors.UndefinedObject:
        return  # settled already (by the landing itself, or another settle)
    log.info("load %s: second COPY connection %s", load_id,
             "committed" if landed else "rolled back")
