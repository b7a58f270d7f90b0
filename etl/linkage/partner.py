"""Tokens from a partner site: import them and link each partner record to a local person.

The partner computed its tokens with the same recipes and the same key (agreed between
the sites; the key itself is never exchanged with the tokens). A partner record links to
the local person whose tokens agree with it on at least MIN_RECIPES recipes, when no
other local person agrees as well; a tie goes to review ('partner_conflict'), a single
agreeing recipe to review as a 'weak_token_match'. Local tokens that several persons
share are ignored, as for local links.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import sqlalchemy as sa

from etl.errors import ConfigError
from etl.linkage.match import MIN_RECIPES
from etl.linkage.tokens import LinkageKey, read_token_file
from etl.warehouse import Warehouse, copy_arrow


@dataclass(frozen=True)
class ImportResult:
    site: str
    records: int
    tokens: int
    linked: int
    conflicts: int


_MATCH = """
with local_token as (
    select distinct xwalk.person_id, token.recipe, token.token
    from etl.person_token as token
    join etl.person_crosswalk as xwalk
      on xwalk.source = token.source and xwalk.id_system = token.key_system
     and xwalk.id_value = token.person_key
    where token.key_id = :key_id
),
unique_token as (
    select recipe, token, min(person_id) as person_id from local_token
    group by recipe, token having count(distinct person_id) = 1
),
scores as (
    select partner.record_ref, local.person_id,
           array_agg(distinct partner.recipe order by partner.recipe) as recipes,
           count(distinct partner.recipe) as score
    from etl.partner_token as partner
    join unique_token as local using (recipe, token)
    where partner.site = :site
    group by partner.record_ref, local.person_id
),
ranked as (
    select scores.*, count(*) over (partition by record_ref, score) as tied,
           rank() over (partition by record_ref order by score desc) as place
    from scores
)
select record_ref, person_id, recipes, score, tied from ranked where place = 1
"""


def import_tokens(warehouse: Warehouse, key: LinkageKey, path: Path, site: str) -> ImportResult:
    rows = read_token_file(path)
    foreign = {key_id for *_, key_id in rows} - {key.key_id}
    if foreign:
        raise ConfigError(f"{path}: tokens made with another key (key id {sorted(foreign)[0]}, "
                          f"this site's is {key.key_id}); both sites must use the same key")
    table = pa.table({
        "site": pa.array([site] * len(rows), pa.string()),
        "record_ref": pa.array([r[0] for r in rows], pa.string()),
        "recipe": pa.array([r[1] for r in rows], pa.string()),
        "token": pa.array([r[2] for r in rows], pa.string()),
        "key_id": pa.array([r[3] for r in rows], pa.string()),
    })
    with warehouse.raw_connection() as conn:
        conn.execute("delete from etl.partner_token where site = %s", (site,))
        conn.execute("create temp table new_partner_token (like etl.partner_token "
                     "including defaults) on commit drop")
        copy_arrow(conn, "new_partner_token", table)
        conn.execute("insert into etl.partner_token select distinct * from new_partner_token "
                     "on conflict do nothing")
        conn.commit()
    linked = conflicts = 0
    with warehouse.engine.begin() as conn:
        conn.execute(sa.text("delete from etl.partner_link where site = :s"), {"s": site})
        best: dict[str, list[tuple[int, list[str], int]]] = {}
        for record_ref, person_id, recipes, score, _tied in conn.execute(
                sa.text(_MATCH), {"key_id": key.key_id, "site": site}):
            best.setdefault(record_ref, []).append((int(person_id), list(recipes), int(score)))
        for record_ref, candidates in sorted(best.items()):
            score = candidates[0][2]
            if len(candidates) == 1 and score >= MIN_RECIPES:
                person_id, recipes, _ = candidates[0]
                conn.execute(sa.text(
                    "insert into etl.partner_link (site, record_ref, person_id, recipes) "
                    "values (:s, :r, :p, :recipes)"),
                    {"s": site, "r": record_ref, "p": person_id, "recipes": recipes})
                linked += 1
                continue
            conflicts += 1
            person_ids = sorted(c[0] for c in candidates)
            kind = "partner_conflict" if len(candidates) > 1 else "weak_token_match"
            reason = (f"a record of partner site {site} matches {len(candidates)} local persons "
                      f"on {score} recipes each" if len(candidates) > 1 else
                      f"a record of partner site {site} matches one local person on only "
                      f"{score} recipe(s)")
            conn.execute(sa.text(
                "insert into etl.linkage_review (kind, fingerprint, person_ids, method, reason, "
                "detail) values (:k, :f, :p, 'token', :reason, cast(:d as jsonb)) "
                "on conflict (fingerprint) do nothing"),
                {"k": kind, "f": f"partner:{site}:{record_ref}", "p": person_ids,
                 "reason": reason,
                 "d": json.dumps({"site": site, "record_ref": record_ref, "score": score})})
    return ImportResult(site, len({r[0] for r in rows}), len(rows), linked, conflicts)
