"""Persistent identity: one person_id per real person across sources, never reassigned.

dbt builds `int_person_keys` (source, key_system, person_key, id_system, id_value): every
source person (a CCLF current MBI, an X12 payer + member id, a FHIR Patient) with each
identifier it carries. This step, run between the intermediate and the OMOP models:

1. (when the site's linkage key is configured) computes the linkage tokens of every
   source person's demographics (etl/linkage/tokens.py);
2. links source persons that share an identifier: an MBI or HICN anywhere, a payer +
   member id, an MRN within one source (deterministic links), then source persons of
   different sources whose tokens agree on enough recipes (etl/linkage/match.py);
3. gives each group (a connected component of those links) its person_id: the one its
   keys already have, else a new one; new keys and identifiers go into
   etl.person_crosswalk with how they were matched (`matched_by`).

The crosswalk is state, not a transformation: it survives full rebuilds, which is why it
lives in `etl` and is kept here rather than in a dbt model. A person_id once given is never
changed here: when a group holds keys of two existing person_ids (an MBI change seen
before CCLF9 reported it, an EHR record that gained its MBI), the group is written to
etl.linkage_review as a 'merge' for a person to decide (`etl tokens decide`); new keys of
such a group join its oldest person_id. docs/linkage.md gives the policy.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import psycopg

from etl.config import Settings
from etl.linkage import match
from etl.warehouse import Warehouse

log = logging.getLogger(__name__)

PERSON_KEYS = "dbt_intermediate.int_person_keys"

# Identifier systems that mean the same person in any source; any other system (an MRN,
# whose value carries its assigning system, a source's own key) links within its source.
GLOBAL_SYSTEMS = ("mbi", "hicn", "bfd_bene_id", "payer_member")
# Strongest first: the method recorded for a key that several links reach.
METHOD_ORDER = ("mbi", "hicn", "bfd_bene_id", "payer_member", "mrn", "alias", "token")


@dataclass
class IdentityResult:
    identifiers_added: int = 0
    persons_added: int = 0
    tokens_added: int = 0
    token_links: int = 0
    reviews_opened: int = 0
    methods: dict[str, int] = field(default_factory=dict)


def _propagate(cur: psycopg.Cursor) -> int:
    """Label every node with the smallest node of its connected component (min-label
    propagation over link_edge, set-based; rounds = the longest chain of links)."""
    rounds = 0
    while True:
        rounds += 1
        cur.execute("""
            with neighbours as (
                select edge.a as node, comp.comp from link_edge as edge
                join link_comp as comp on comp.node = edge.b
                union all
                select edge.b, comp.comp from link_edge as edge
                join link_comp as comp on comp.node = edge.a
            ),
            best as (select node, min(comp) as comp from neighbours group by node)
            update link_comp set comp = best.comp
            from best
            where link_comp.node = best.node and best.comp < link_comp.comp
        """)
        if cur.rowcount == 0:
            return rounds


_NODES = f"""
create temp table link_key on commit drop as
select distinct source, key_system, person_key, id_system, id_value
from (
    select source, key_system, person_key, id_system, id_value from {PERSON_KEYS}
    union all
    select source, key_system, person_key, key_system, person_key from {PERSON_KEYS}
) as keys
where person_key is not null and id_value is not null and id_value <> '';

create temp table link_node on commit drop as
select row_number() over (order by source, key_system, person_key) as node,
       source, key_system, person_key
from (select distinct source, key_system, person_key from link_key) as keys;
create unique index on link_node (source, key_system, person_key);

create temp table link_id on commit drop as
select node.node, keys.source, keys.key_system, keys.id_system, keys.id_value,
       keys.id_system = keys.key_system and keys.id_value = keys.person_key as is_key
from link_key as keys
join link_node as node using (source, key_system, person_key);
create index on link_id (id_system, id_value);
create index on link_id (node);

create temp table link_edge (a bigint, b bigint, method text, detail jsonb) on commit drop;
insert into link_edge
select distinct one.node, other.node,
       case when one.id_system = one.key_system and one.source = other.source then 'alias'
            else one.id_system end,
       null::jsonb
from link_id as one
join link_id as other
  on one.id_system = other.id_system and one.id_value = other.id_value
 and one.node < other.node
where one.id_system in ({", ".join(f"'{s}'" for s in GLOBAL_SYSTEMS)})
   or one.source = other.source;

create temp table link_comp on commit drop as select node, node as comp from link_node;
create unique index on link_comp (node);
"""

_ASSIGN = """
-- Person_ids the crosswalk already gives a node: its own key's first, else any of its
-- identifiers' (within its source; e.g. a previous MBI's).
create temp table link_known on commit drop as
select distinct ids.node, xwalk.person_id, ids.is_key
from link_id as ids
join etl.person_crosswalk as xwalk
  on (xwalk.source, xwalk.id_system, xwalk.id_value) = (ids.source, ids.id_system, ids.id_value);

create temp table link_comp_known on commit drop as
select comp.comp, min(known.person_id) as person_id,
       array_agg(distinct known.person_id order by known.person_id) as person_ids
from link_known as known join link_comp as comp using (node)
group by comp.comp;

create temp table link_comp_new on commit drop as
select comp, cast(nextval('etl.person_id_seq') as integer) as person_id
from (select distinct comp from link_comp
      where comp not in (select comp from link_comp_known) order by comp) as fresh;

create temp table link_node_person on commit drop as
select comp.node, comp.comp,
       coalesce(own.person_id, alias.person_id, known.person_id, fresh.person_id) as person_id,
       own.person_id is null as is_new_key
from link_comp as comp
left join (select node, min(person_id) as person_id from link_known where is_key group by node)
    as own using (node)
left join (select node, min(person_id) as person_id from link_known group by node)
    as alias using (node)
left join link_comp_known as known using (comp)
left join link_comp_new as fresh using (comp);
create unique index on link_node_person (node);

-- How each node was matched to the others of its group: its strongest own edge, else the
-- token link of its deterministic group.
create temp table link_node_method on commit drop as
select distinct on (node) node, method, detail
from (
    select a as node, method, detail from link_edge
    union all
    select b, method, detail from link_edge
) as ends
order by node, array_position(%(methods)s::text[], method) nulls last;
"""

_INSERT = """
insert into etl.person_crosswalk (source, id_system, id_value, person_id, link_method,
                                  first_run_id, matched_by, match_detail)
select ids.source, ids.id_system, ids.id_value, person.person_id,
       case when ids.is_key then 'source_key'
            when ids.id_system = ids.key_system then 'source_alias'
            else 'identifier' end,
       cast(%(run_id)s as bigint),
       case when ids.is_key and group_size.nodes > 1 then method.method end,
       case when ids.is_key and group_size.nodes > 1 then method.detail end
from link_id as ids
join link_node_person as person using (node)
join (select comp, count(*) as nodes from link_comp group by comp) as group_size
  on group_size.comp = person.comp
left join link_node_method as method using (node)
order by ids.source, ids.id_system, ids.id_value
on conflict (source, id_system, id_value) do nothing
"""

_MERGES = """
insert into etl.linkage_review (kind, fingerprint, person_ids, method, reason, detail,
                                first_run_id, last_run_id)
select 'merge', 'merge:' || known.person_ids::text, known.person_ids, methods.methods,
       'person_ids ' || array_to_string(known.person_ids, ', ')
       || ' were given separately but are linked by ' || methods.methods
       || '; existing person_ids are only merged when a person approves',
       jsonb_build_object('sources', sources.sources, 'methods', methods.method_list),
       cast(%(run_id)s as bigint), cast(%(run_id)s as bigint)
from link_comp_known as known
join (select comp.comp, string_agg(distinct edge.method, ', ' order by edge.method) as methods,
             jsonb_agg(distinct edge.method) as method_list
      from link_edge as edge join link_comp as comp on comp.node = edge.a
      group by comp.comp) as methods using (comp)
join (select comp.comp, jsonb_agg(distinct node.source) as sources
      from link_comp as comp join link_node as node using (node)
      group by comp.comp) as sources using (comp)
where cardinality(known.person_ids) > 1
on conflict (fingerprint) do update set last_run_id = excluded.last_run_id
"""


def assign_person_ids(warehouse: Warehouse, run_id: int | None,
                      settings: Settings | None = None) -> int:
    """Link and give every new identifier its person_id; returns how many identifiers were
    added. With `settings` naming a linkage key, tokens are computed first (otherwise the
    tokens already stored, e.g. by `etl tokens compute`, are used)."""
    return link_persons(warehouse, run_id, settings).identifiers_added


def link_persons(warehouse: Warehouse, run_id: int | None,
                 settings: Settings | None = None) -> IdentityResult:
    result = IdentityResult()
    key = None
    if settings is not None and settings.linkage_key_file is not None:
        from etl.linkage.tokens import LinkageKey, compute_tokens

        key = LinkageKey.from_settings(settings)
        result.tokens_added = compute_tokens(warehouse, key, run_id)
    with warehouse.raw_connection() as conn, conn.cursor() as cur:
        cur.execute("lock table etl.person_crosswalk in share row exclusive mode")
        match.run_script(cur, _NODES)
        _propagate(cur)
        key_id = key.key_id if key else match.latest_key_id(cur)
        if key_id:
            result.token_links = match.add_token_edges(cur, key_id)
            if result.token_links:
                _propagate(cur)
        match.run_script(cur, _ASSIGN, {"methods": list(METHOD_ORDER)})
        cur.execute("select count(*) from link_comp_new")
        result.persons_added = int(cur.fetchone()[0])
        cur.execute(_INSERT, {"run_id": run_id})
        result.identifiers_added = int(cur.rowcount or 0)
        before = _review_count(cur)
        cur.execute(_MERGES, {"run_id": run_id})
        if key_id:
            match.record_token_reviews(cur, key_id, run_id)
        result.reviews_opened = _review_count(cur) - before
        cur.execute("select coalesce(matched_by, 'none'), count(*) from etl.person_crosswalk "
                    "where first_run_id is not distinct from cast(%s as bigint) "
                    "and link_method = 'source_key' group by 1", (run_id,))
        result.methods = {method: int(n) for method, n in cur.fetchall()}
        conn.commit()
    log.info("identity: %d new identifiers, %d new persons, %d token links, %d new reviews",
             result.identifiers_added, result.persons_added, result.token_links,
             result.reviews_opened)
    return result


def _review_count(cur: psycopg.Cursor) -> int:
    cur.execute("select count(*) from etl.linkage_review")
    return int(cur.fetchone()[0])
