-- One row per continuous observation span of a person (OMOP OBSERVATION_PERIOD), across
-- every source linked to the person: claims enrollment spans (CCLF8 months, 837 coverage),
-- EHR activity (first to last FHIR record, Coverage periods) and every visit's dates,
-- merged where they overlap or touch in one gaps-and-islands pass (macro
-- gaps_and_islands). Period type (docs/linkage.md, "Observation periods"): 32810 Claim when
-- a claims source (CCLF, X12) or a claim visit (a Blue Button / CARIN bill, visit type
-- 32810) contributes to the period, else 32817 EHR.
with spans as (
    select people.person_id, spans.source in ('cclf', 'x12') as from_claims,
        spans.span_start as start_date, spans.span_end as end_date
    from ({{ union_source_models('int_observation_spans') }}) as spans
    inner join {{ ref('int_person_index') }} as people
        on spans.source = people.source and spans.person_key = people.person_key
    where spans.span_start is not null
    union all
    select person_id, source in ('cclf', 'x12') or visit_type_concept_id = 32810,
        start_date, coalesce(end_date, start_date)
    from {{ ref('int_visits') }}
    where start_date is not null
),

{{ gaps_and_islands('spans', ['person_id'], 1, 'islands') }},

periods as (
    select
        person_id,
        min(start_date) as start_date,
        max(greatest(start_date, end_date)) as end_date,
        bool_or(from_claims) as from_claims
    from islands
    group by person_id, island
)

select
{{ cdm_select({
    'observation_period_id': 'row_number() over (order by person_id, start_date)',
    'person_id': 'person_id',
    'observation_period_start_date': 'start_date',
    'observation_period_end_date': 'end_date',
    'period_type_concept_id': 'case when from_claims then 32810 else 32817 end',
}) }}
from periods
