"""Person linkage: how each identifier joined its person, linkage tokens, review and merges.

Revision ID: 0007
Revises: 0006

docs/linkage.md describes the policy. In short: etl.person_crosswalk still maps every
(source, identifier system, identifier value) to one person_id and a row is never
rewritten except by an approved merge; `matched_by` says how a source key joined a
person that other keys already had (mbi, hicn, mrn, payer_member, token), null when the
key started the person. Tokens are keyed HMAC-SHA256 digests of normalised demographics:
the key stays in the site's key file, only its fingerprint (`key_id`, an HMAC of a fixed
label, which reveals nothing about the key) is stored so tokens of different keys are
never compared. Anything the linkage will not decide on its own goes to
etl.linkage_review; an approved merge is recorded in etl.person_merge.
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    alter table etl.person_crosswalk
        add column matched_by text,
        add column match_detail jsonb;
    create index person_crosswalk_value on etl.person_crosswalk (id_system, id_value);

    -- Linkage tokens of every source person key (one row per key, recipe and token: a key
    -- keeps the tokens of earlier demographics, e.g. a maiden name, so older records in
    -- other sources still find it).
    create table etl.person_token (
        source       text not null,
        key_system   text not null,
        person_key   text not null,
        recipe       text not null,
        token        text not null,
        key_id       text not null,
        first_run_id bigint references etl.run (run_id),
        created_at   timestamptz not null default now(),
        primary key (source, key_system, person_key, recipe, token)
    );
    create index person_token_token on etl.person_token (recipe, token);

    -- Tokens a partner site handed over (`etl tokens import FILE --site NAME`), and which
    -- local person each partner record was linked to.
    create table etl.partner_token (
        site         text not null,
        record_ref   text not null,
        recipe       text not null,
        token        text not null,
        key_id       text not null,
        imported_at  timestamptz not null default now(),
        primary key (site, record_ref, recipe, token)
    );
    create index partner_token_token on etl.partner_token (recipe, token);
    create table etl.partner_link (
        site         text not null,
        record_ref   text not null,
        person_id    integer not null,
        recipes      text[] not null,
        linked_at    timestamptz not null default now(),
        primary key (site, record_ref)
    );

    -- Decisions the linkage leaves to a person: two existing person_ids that turn out to
    -- be one person (kind 'merge'), a token carried by several persons of one source
    -- ('ambiguous_token'), a link on too few recipes ('weak_token_match'), a deterministic
    -- link whose demographics contradict ('contradicting_demographics'), a partner record
    -- matching several local persons ('partner_conflict').
    create table etl.linkage_review (
        review_id    bigint generated always as identity primary key,
        kind         text not null check (kind in ('merge', 'ambiguous_token',
                     'weak_token_match', 'contradicting_demographics', 'partner_conflict')),
        fingerprint  text not null unique,
        status       text not null default 'pending'
                     check (status in ('pending', 'approved', 'rejected')),
        person_ids   integer[] not null default '{}',
        method       text,
        reason       text not null,
        detail       jsonb not null default '{}',
        first_run_id bigint references etl.run (run_id),
        last_run_id  bigint references etl.run (run_id),
        created_at   timestamptz not null default now(),
        decided_at   timestamptz,
        decided_by   text
    );
    create index linkage_review_pending on etl.linkage_review (kind) where status = 'pending';

    -- Approved merges: every crosswalk row of from_person_id now carries into_person_id.
    create table etl.person_merge (
        from_person_id integer primary key,
        into_person_id integer not null,
        review_id    bigint references etl.linkage_review (review_id),
        merged_at    timestamptz not null default now()
    );
    """)


def downgrade() -> None:
    op.execute("""
    drop table if exists etl.person_merge, etl.linkage_review, etl.partner_link,
        etl.partner_token, etl.person_token;
    drop index if exists etl.person_crosswalk_value;
    alter table etl.person_crosswalk drop column if exists matched_by,
        drop column if exists match_detail;
    """)
