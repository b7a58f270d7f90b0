"""The `etl` schema: runs, loads, file manifest, quarantine, quality results, person crosswalk.

Revision ID: 0001
Revises:
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    create schema if not exists etl;

    -- One row per `etl run` (or other command that changes the warehouse).
    create table etl.run (
        run_id       bigint generated always as identity primary key,
        command      text not null,
        source       text,
        started_at   timestamptz not null default now(),
        ended_at     timestamptz,
        status       text not null default 'running'
                     check (status in ('running', 'succeeded', 'failed', 'rejected', 'crashed')),
        inputs       jsonb not null default '[]',
        stats        jsonb not null default '{}',
        published    boolean not null default false,
        error        text,
        pid          integer,
        hostname     text
    );

    -- One row per delivery unit landed (a CCLF package, an X12 file, a FHIR export).
    create table etl.load (
        load_id      bigint generated always as identity primary key,
        run_id       bigint references etl.run (run_id),
        source       text not null,
        unit_name    text not null,
        status       text not null default 'landing'
                     check (status in ('landing', 'landed', 'rejected', 'failed', 'superseded')),
        started_at   timestamptz not null default now(),
        ended_at     timestamptz,
        rows_landed  bigint not null default 0,
        rows_quarantined bigint not null default 0,
        detail       jsonb not null default '{}'
    );

    -- One row per input file; a file (same name, same bytes) is landed once per source.
    -- The name is part of the key: identical bytes under another delivery's name are a
    -- new delivery (e.g. an unchanged monthly CCLF8 still attests that month's enrollment).
    create table etl.manifest (
        file_id      bigint generated always as identity primary key,
        load_id      bigint not null references etl.load (load_id),
        source       text not null,
        file_name    text not null,
        file_path    text not null,
        sha256       char(64) not null,
        size_bytes   bigint not null,
        staging_table text,
        rows_landed  bigint not null default 0,
        rows_quarantined bigint not null default 0,
        status       text not null default 'landing'
                     check (status in ('landing', 'landed', 'rejected', 'failed')),
        recorded_at  timestamptz not null default now()
    );
    create unique index manifest_landed_once on etl.manifest (source, file_name, sha256)
        where status = 'landed';

    -- Records that could not be parsed or typed, with where and why.
    create table etl.quarantine (
        quarantine_id bigint generated always as identity primary key,
        load_id      bigint not null references etl.load (load_id),
        file_name    text not null,
        line_number  bigint,
        record_ref   text,
        field        text,
        reason       text not null,
        raw_record   text
    );
    create index quarantine_load on etl.quarantine (load_id);

    -- Gate 1 (expectations on landed tables) and gate 2 (DQD checks on the build).
    create table etl.dq_result (
        dq_result_id bigint generated always as identity primary key,
        run_id       bigint references etl.run (run_id),
        load_id      bigint references etl.load (load_id),
        gate         text not null check (gate in ('landing', 'build', 'published')),
        check_name   text not null,
        table_name   text,
        field_name   text,
        concept_id   integer,
        violating_rows bigint,
        denominator_rows bigint,
        violating_pct numeric,
        threshold_pct numeric,
        severity     text not null default 'warning' check (severity in ('fatal', 'warning')),
        status       text not null check (status in ('passed', 'failed', 'error', 'skipped')),
        detail       jsonb not null default '{}',
        checked_at   timestamptz not null default now()
    );
    create index dq_result_run on etl.dq_result (run_id);

    -- Every source identity and the person_id it belongs to; person_ids never change.
    create sequence etl.person_id_seq;
    create table etl.person_crosswalk (
        source       text not null,
        id_system    text not null,
        id_value     text not null,
        person_id    integer not null,
        link_method  text not null default 'source_key',
        first_run_id bigint references etl.run (run_id),
        created_at   timestamptz not null default now(),
        primary key (source, id_system, id_value)
    );
    create index person_crosswalk_person on etl.person_crosswalk (person_id);
    """)


def downgrade() -> None:
    op.execute("""
    drop table if exists etl.person_crosswalk, etl.dq_result, etl.quarantine,
        etl.manifest, etl.load, etl.run cascade;
    drop sequence if exists etl.person_id_seq;
    """)
