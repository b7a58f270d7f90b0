"""linkage_summary: persons per source, cross-source links by method, reviews pending.

Counts only: no identifier, name or token leaves this function, so its result can go
into the HTML run report and the console.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from etl.warehouse import Warehouse

PENDING_LISTED = 50


def linkage_summary(warehouse: Warehouse) -> dict[str, Any]:
    """The state of the person crosswalk and the linkage, as plain JSON-ready data:

    {"persons": int,                     # distinct person_ids with a source key
     "persons_per_source": {source: int},
     "persons_in_several_sources": int,
     "source_combinations": {"cclf+fhir": int, ...},   # persons by the set of sources
     "linked_by_method": {method: int},  # persons in several sources, by how their keys
                                         # were matched: "deterministic" (mbi, hicn, ...
                                         # only) or "token" (at least one token link)
     "keys_matched_by": {method: int},   # source keys per matched_by (mbi, token, ...)
     "identifiers": [{"source", "id_system", "link_method", "identifiers", "persons"}],
     "tokens": {"key_ids": int, "tokens": int, "source_keys": int},
     "reviews": {"pending": {kind: int}, "approved": {kind: int}, "rejected": {kind: int}},
     "pending_reviews": [{"review_id", "kind", "person_ids", "method", "reason",
                          "first_run_id", "last_run_id"}],   # oldest first, at most 50
     "merges": int,                      # person_ids merged into another by approval
     "partners": {site: {"records": int, "linked": int}}}
    """
    with warehouse.engine.connect() as conn:
        def rows(sql: str) -> list[Any]:
            return list(conn.execute(sa.text(sql)))

        people = rows("""
            select person_id, string_agg(distinct source, '+' order by source) as sources,
                   bool_or(matched_by = 'token') as by_token,
                   bool_or(matched_by is not null and matched_by <> 'token') as by_identifier
            from etl.person_crosswalk where link_method = 'source_key'
            group by person_id""")
        per_source: dict[str, int] = {}
        combinations: dict[str, int] = {}
        by_method: dict[str, int] = {}
        for _, sources, by_token, _by_identifier in people:
            for source in sources.split("+"):
                per_source[source] = per_source.get(source, 0) + 1
            combinations[sources] = combinations.get(sources, 0) + 1
            if "+" in sources:
                method = "token" if by_token else "deterministic"
                by_method[method] = by_method.get(method, 0) + 1
        reviews: dict[str, dict[str, int]] = {"pending": {}, "approved": {}, "rejected": {}}
        for status, kind, n in rows("select status, kind, count(*) from etl.linkage_review "
                                    "group by 1, 2 order by 1, 2"):
            reviews[status][kind] = int(n)
        tokens = rows("select count(distinct key_id), count(*), "
                      "count(distinct (source, key_system, person_key)) from etl.person_token")[0]
        return {
            "persons": len(people),
            "persons_per_source": dict(sorted(per_source.items())),
            "persons_in_several_sources": sum(n for s, n in combinations.items() if "+" in s),
            "source_combinations": dict(sorted(combinations.items())),
            "linked_by_method": dict(sorted(by_method.items())),
            "keys_matched_by": {m: int(n) for m, n in rows(
                "select matched_by, count(*) from etl.person_crosswalk "
                "where link_method = 'source_key' and matched_by is not null "
                "group by 1 order by 1")},
            "identifiers": [
                {"source": s, "id_system": i, "link_method": m, "identifiers": int(n),
                 "persons": int(p)}
                for s, i, m, n, p in rows(
                    "select source, id_system, link_method, count(*), count(distinct person_id) "
                    "from etl.person_crosswalk group by 1, 2, 3 order by 1, 2, 3")],
            "tokens": {"key_ids": int(tokens[0]), "tokens": int(tokens[1]),
                       "source_keys": int(tokens[2])},
            "reviews": reviews,
            "pending_reviews": [
                {"review_id": int(r.review_id), "kind": r.kind,
                 "person_ids": [int(p) for p in r.person_ids], "method": r.method,
                 "reason": r.reason, "first_run_id": r.first_run_id,
                 "last_run_id": r.last_run_id}
                for r in rows(
                    "select review_id, kind, person_ids, method, reason, first_run_id, "
                    f"last_run_id from etl.linkage_review where status = 'pending' "
                    f"order by review_id limit {PENDING_LISTED}")],
            "merges": int(rows("select count(*) from etl.person_merge")[0][0]),
            "partners": {
                site: {"records": int(n), "linked": int(linked)}
                for site, n, linked in rows(
                    "select token.site, count(distinct token.record_ref), "
                    "count(distinct link.record_ref) from etl.partner_token as token "
                    "left join etl.partner_link as link using (site, record_ref) "
                    "group by 1 order by 1")},
        }
