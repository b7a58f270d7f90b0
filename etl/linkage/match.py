"""Token links between the groups the deterministic identifiers made (etl/identity.py).

Only tokens are compared, never names or birth dates, and only across sources. The rule
(docs/linkage.md, "Tokens"):
* a token (recipe + digest) that several groups of one source carry (twins, namesakes,
  a duplicate record) is ambiguous: it links nothing and goes to review;
* two groups of different sources link when their remaining tokens agree on at least
  MIN_RECIPES recipes, each is the other's only best match among groups of that source,
  and the two do not both hold a key of the same source (two CCLF beneficiaries are two
  people to CMS);
* anything less (one recipe, a tie, a clash of keys) goes to etl.linkage_review as a
  'weak_token_match', never merged silently.
These run on the identity step's temporary tables, inside its transaction.
"""

from __future__ import annotations

import psycopg

MIN_RECIPES = 2

_PAIRS = """
create temp table link_tok on commit drop as
select distinct comp.comp, node.source, token.recipe, token.token
from etl.person_token as token
join link_node as node using (source, key_system, person_key)
join link_comp as comp using (node)
where token.key_id = %(key_id)s;
create index on link_tok (recipe, token);

create temp table link_ambiguous on commit drop as
select source, recipe, token, array_agg(distinct comp order by comp) as comps
from link_tok
group by source, recipe, token
having count(distinct comp) > 1;
create index on link_ambiguous (recipe, token);

create temp table link_comp_sources on commit drop as
select comp.comp, array_agg(distinct node.source order by node.source) as sources
from link_comp as comp join link_node as node using (node)
group by comp.comp;
create unique index on link_comp_sources (comp);

-- Ambiguous tokens go before the join: a common name must not multiply the pairs.
create temp table link_tok_clear on commit drop as
select * from link_tok as tok
where not exists (select 1 from link_ambiguous as amb
                  where amb.recipe = tok.recipe and amb.token = tok.token);
create index on link_tok_clear (recipe, token);

create temp table link_pair on commit drop as
select one.comp as c1, other.comp as c2,
       array_agg(distinct one.recipe order by one.recipe) as recipes,
       count(distinct one.recipe) as score
from link_tok_clear as one
join link_tok_clear as other
  on one.recipe = other.recipe and one.token = other.token
 and one.comp <> other.comp and one.source <> other.source
group by one.comp, other.comp;

create temp table link_pair_checked on commit drop as
select pair.*,
       one.sources && other.sources as same_source,
       exists (select 1 from link_pair as rival
               join link_comp_sources as rival_sources on rival_sources.comp = rival.c2
               where rival.c1 = pair.c1 and rival.c2 <> pair.c2 and rival.score >= pair.score
                 and rival_sources.sources && other.sources)
       or exists (select 1 from link_pair as rival
                  join link_comp_sources as rival_sources on rival_sources.comp = rival.c2
                  where rival.c1 = pair.c2 and rival.c2 <> pair.c1 and rival.score >= pair.score
                    and rival_sources.sources && one.sources) as has_rival
from link_pair as pair
join link_comp_sources as one on one.comp = pair.c1
join link_comp_sources as other on other.comp = pair.c2
where pair.c1 < pair.c2;

insert into link_edge
select c1, c2, 'token', jsonb_build_object('recipes', to_jsonb(recipes), 'score', score)
from link_pair_checked
where score >= %(min_recipes)s and not same_source and not has_rival
"""

_REVIEWS = """
insert into etl.linkage_review (kind, fingerprint, person_ids, method, reason, detail,
                                first_run_id, last_run_id)
select 'ambiguous_token', 'ambiguous:' || amb.recipe || ':' || amb.token,
       array_agg(distinct person.person_id order by person.person_id), 'token',
       'a ' || amb.recipe || ' token is carried by ' || cardinality(amb.comps)
       || ' persons of source ' || amb.source
       || ' (twins, namesakes or a duplicate record?): it links nothing',
       jsonb_build_object('source', amb.source, 'recipe', amb.recipe),
       cast(%(run_id)s as bigint), cast(%(run_id)s as bigint)
from link_ambiguous as amb
cross join lateral unnest(amb.comps) as listed (comp)
join link_node_person as person on person.node = listed.comp
group by amb.source, amb.recipe, amb.token, amb.comps
having count(distinct person.person_id) > 1
on conflict (fingerprint) do update set last_run_id = excluded.last_run_id;

insert into etl.linkage_review (kind, fingerprint, person_ids, method, reason, detail,
                                first_run_id, last_run_id)
select distinct on (least(one.person_id, other.person_id), greatest(one.person_id, other.person_id))
       'weak_token_match',
       'token:' || least(one.person_id, other.person_id) || ':'
       || greatest(one.person_id, other.person_id),
       array[least(one.person_id, other.person_id), greatest(one.person_id, other.person_id)],
       'token',
       case
           when pair.score < %(min_recipes)s then
               'tokens agree on ' || pair.score || ' recipe ('
               || array_to_string(pair.recipes, ', ') || '), fewer than the '
               || %(min_recipes)s || ' a link needs'
           when pair.same_source then
               'tokens agree on ' || pair.score || ' recipes but both persons have their own key '
               || 'in one source'
           else 'tokens agree on ' || pair.score || ' recipes but another person matches as well'
       end,
       jsonb_build_object('recipes', to_jsonb(pair.recipes), 'score', pair.score),
       cast(%(run_id)s as bigint), cast(%(run_id)s as bigint)
from link_pair_checked as pair
join link_node_person as one on one.node = pair.c1
join link_node_person as other on other.node = pair.c2
where one.person_id <> other.person_id
order by least(one.person_id, other.person_id), greatest(one.person_id, other.person_id),
         pair.score desc
on conflict (fingerprint) do update
    set last_run_id = excluded.last_run_id, detail = excluded.detail;

insert into etl.linkage_review (kind, fingerprint, person_ids, method, reason, detail,
                                first_run_id, last_run_id)
select distinct on (fingerprint) 'contradicting_demographics', fingerprint,
       array[person.person_id], edge.method,
       'linked by ' || edge.method || ' (' || one.source || ' and ' || other.source
       || ') but no demographic token of the two agrees: a wrong identifier?',
       jsonb_build_object('sources', jsonb_build_array(one.source, other.source),
                          'method', edge.method),
       cast(%(run_id)s as bigint), cast(%(run_id)s as bigint)
from (select edge.*, 'contradict:' || md5(one.source || '|' || one.key_system || '|'
             || one.person_key || '|' || other.source || '|' || other.key_system || '|'
             || other.person_key) as fingerprint
      from link_edge as edge
      join link_node as one on one.node = edge.a
      join link_node as other on other.node = edge.b) as edge
join link_node as one on one.node = edge.a
join link_node as other on other.node = edge.b
join link_node_person as person on person.node = edge.a
where edge.method <> 'token' and one.source <> other.source
  and exists (select 1 from etl.person_token as t where t.key_id = %(key_id)s
              and (t.source, t.key_system, t.person_key)
                = (one.source, one.key_system, one.person_key))
  and exists (select 1 from etl.person_token as t where t.key_id = %(key_id)s
              and (t.source, t.key_system, t.person_key)
                = (other.source, other.key_system, other.person_key))
  and not exists (
      select 1 from etl.person_token as a
      join etl.person_token as b on a.recipe = b.recipe and a.token = b.token
      where a.key_id = %(key_id)s and b.key_id = %(key_id)s
        and (a.source, a.key_system, a.person_key)
          = (one.source, one.key_system, one.person_key)
        and (b.source, b.key_system, b.person_key)
          = (other.source, other.key_system, other.person_key))
on conflict (fingerprint) do update set last_run_id = excluded.last_run_id
"""


def run_script(cur: psycopg.Cursor, script: str,
               params: dict[str, object] | None = None) -> None:
    """Execute a script statement by statement (parameters need one statement each)."""
    for statement in script.split(";\n"):
        if statement.strip():
            cur.execute(statement, params if "%(" in statement else None)


def latest_key_id(cur: psycopg.Cursor) -> str | None:
    """The key of the most recently stored tokens (used when this run has no key)."""
    cur.execute("select key_id from etl.person_token order by created_at desc limit 1")
    row = cur.fetchone()
    return row[0] if row else None


def add_token_edges(cur: psycopg.Cursor, key_id: str) -> int:
    """Add the accepted token links to link_edge; returns how many."""
    run_script(cur, _PAIRS, {"key_id": key_id, "min_recipes": MIN_RECIPES})
    return int(cur.rowcount or 0)


def record_token_reviews(cur: psycopg.Cursor, key_id: str, run_id: int | None) -> None:
    """Ambiguous tokens, weak or contested token matches and deterministic links whose
    tokens disagree, into etl.linkage_review (idempotent: one row per finding)."""
    cur.execute("select to_regclass('pg_temp.link_pair_checked')")
    if cur.fetchone()[0] is None:
        run_script(cur, _PAIRS.rsplit("insert into link_edge", 1)[0],
             {"key_id": key_id, "min_recipes": MIN_RECIPES})
    run_script(cur, _REVIEWS, {"key_id": key_id, "run_id": run_id, "min_recipes": MIN_RECIPES})
