-- One row per person with a death date (OMOP DEATH); type concept 32810 (Claim).
select
{{ cdm_select({
    'person_id': 'person_id',
    'death_date': 'death_date',
    'death_datetime': 'death_date',
    'death_type_concept_id': '32810',
    'cause_concept_id': '0',
    'cause_source_concept_id': '0',
}) }}
from {{ ref('int_persons') }}
where death_date is not null
