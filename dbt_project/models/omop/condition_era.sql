-- One row per span in which a person has a condition (OMOP CONDITION_ERA): occurrences of
-- one standard condition concept merge when the next starts within 30 days of the latest
-- end so far (the OHDSI persistence window). Gaps and islands in one pass of window
-- functions, never a self-join: linear in the number of occurrences.
with occurrences as (
    select
        person_id,
        condition_concept_id,
        condition_start_date as start_date,
        coalesce(condition_end_date, condition_start_date) as end_date
    from {{ ref('condition_occurrence') }}
    where condition_concept_id <> 0
),

{{ gaps_and_islands('occurrences', ['person_id', 'condition_concept_id'], 30, 'numbered') }},

eras as (
    select
        person_id,
        condition_concept_id,
        min(start_date) as era_start,
        max(end_date) as era_end,
        count(*) as occurrences
    from numbered
    group by person_id, condition_concept_id, island
)

select
{{ cdm_select({
    'condition_era_id': 'row_number() over (order by person_id, condition_concept_id, era_start)',
    'person_id': 'person_id',
    'condition_concept_id': 'condition_concept_id',
    'condition_era_start_date': 'era_start',
    'condition_era_end_date': 'era_end',
    'condition_occurrence_count': 'occurrences',
}) }}
from eras
