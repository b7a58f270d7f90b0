"""The review queue: what the linkage would not decide alone, and a person's decisions.

Approving a 'merge' or a 'weak_token_match' merges the persons: every crosswalk row of the
higher person_ids takes the lowest (oldest) one, recorded in etl.person_merge, and the next
OMOP build has one person where it had several. Approving any other kind (an ambiguous
token, contradicting demographics, a partner conflict) records that it was seen. Rejecting
keeps the persons apart for good: the same finding is not raised again.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from etl.errors import ConfigError
from etl.warehouse import Warehouse

MERGING_KINDS = ("merge", "weak_token_match")


@dataclass(frozen=True)
class Decision:
    review_id: int
    kind: str
    status: str
    merged_into: int | None
    merged_from: tuple[int, ...]


def decide(warehouse: Warehouse, review_id: int, approve: bool, decided_by: str) -> Decision:
    with warehouse.engine.begin() as conn:
        row = conn.execute(sa.text(
            "select kind, status, person_ids from etl.linkage_review where review_id = :r "
            "for update"), {"r": review_id}).one_or_none()
        if row is None:
            raise ConfigError(f"no linkage review {review_id}")
        kind, status, person_ids = row
        if status != "pending":
            raise ConfigError(f"linkage review {review_id} was already {status}")
        into, merged = None, ()
        if approve and kind in MERGING_KINDS and len(person_ids) > 1:
            # Persons merged earlier resolve to where they went.
            current = sorted({int(conn.execute(sa.text(
                "select coalesce((select into_person_id from etl.person_merge "
                "where from_person_id = :p), :p)"), {"p": p}).scalar_one()) for p in person_ids})
            into, merged = current[0], tuple(current[1:])
            for old in merged:
                conn.execute(sa.text("update etl.person_crosswalk set person_id = :i "
                                     "where person_id = :o"), {"i": into, "o": old})
                conn.execute(sa.text("update etl.partner_link set person_id = :i "
                                     "where person_id = :o"), {"i": into, "o": old})
                conn.execute(sa.text("update etl.person_merge set into_person_id = :i "
                                     "where into_person_id = :o"), {"i": into, "o": old})
                conn.execute(sa.text(
                    "insert into etl.person_merge (from_person_id, into_person_id, review_id) "
                    "values (:o, :i, :r)"), {"o": old, "i": into, "r": review_id})
        new_status = "approved" if approve else "rejected"
        conn.execute(sa.text(
            "update etl.linkage_review set status = :s, decided_at = now(), decided_by = :b "
            "where review_id = :r"), {"s": new_status, "b": decided_by, "r": review_id})
    return Decision(review_id, kind, new_status, into, merged)
