"""Persistent identity: every source identifier keeps the person_id it was first given.

dbt builds `int_person_keys` (source, id_system, id_value, canonical_value); this step
writes new identifiers into etl.person_crosswalk before the OMOP models read it. A group
of identifiers (a canonical key and its aliases, e.g. a current MBI and the previous MBIs
CCLF9 maps to it) reuses the person_id any member already has, so an MBI change never
mints a new person. The crosswalk is state, not a transformation: it must survive full
rebuilds, which is why it lives in `etl` and is kept here rather than in a dbt model.
"""

from __future__ import annotations

import sqlalchemy as sa

from etl.warehouse import Warehouse

PERSON_KEYS = "dbt_intermediate.int_person_keys"

_ASSIGN = f"""
with keys as (
    select source, id_system, id_value, canonical_value from {PERSON_KEYS}
    union
    select source, id_system, canonical_value, canonical_value from {PERSON_KEYS}
),
known as (
    select keys.source, keys.id_system, keys.canonical_value, min(xwalk.person_id) as person_id
    from keys
    join etl.person_crosswalk as xwalk
      on (xwalk.source, xwalk.id_system, xwalk.id_value)
       = (keys.source, keys.id_system, keys.id_value)
    group by 1, 2, 3
),
unknown as (
    select distinct source, id_system, canonical_value from keys
    except
    select source, id_system, canonical_value from known
),
minted as (
    select source, id_system, canonical_value,
           cast(nextval('etl.person_id_seq') as integer) as person_id
    from (select * from unknown order by source, id_system, canonical_value) as ordered
),
groups as (
    select * from known
    union all
    select * from minted
)
insert into etl.person_crosswalk (source, id_system, id_value, person_id, link_method,
                                  first_run_id)
select keys.source, keys.id_system, keys.id_value, groups.person_id,
       case when keys.id_value = keys.canonical_value then 'source_key' else 'source_alias' end,
       :run_id
from keys
join groups using (source, id_system, canonical_value)
on conflict (source, id_system, id_value) do nothing
"""


def assign_person_ids(warehouse: Warehouse, run_id: int | None) -> int:
    """Give every new identifier its person_id; returns how many identifiers were added."""
    with warehouse.engine.begin() as conn:
        result = conn.execute(sa.text(_ASSIGN), {"run_id": run_id})
        return int(result.rowcount or 0)
