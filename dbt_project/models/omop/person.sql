-- One row per person (OMOP CDM v5.4 PERSON).
select
{{ cdm_select({
    'person_id': 'persons.person_id',
    'gender_concept_id': 'persons.gender_concept_id',
    'year_of_birth': 'extract(year from persons.birth_date)',
    'month_of_birth': 'extract(month from persons.birth_date)',
    'day_of_birth': 'extract(day from persons.birth_date)',
    'birth_datetime': 'persons.birth_date',
    'race_concept_id': 'persons.race_concept_id',
    'ethnicity_concept_id': 'persons.ethnicity_concept_id',
    'location_id': 'locations.location_id',
    'person_source_value': 'persons.person_key',
    'gender_source_value': 'persons.gender_source_value',
    'gender_source_concept_id': '0',
    'race_source_value': 'persons.race_source_value',
    'race_source_concept_id': '0',
    'ethnicity_source_value': 'persons.ethnicity_source_value',
    'ethnicity_source_concept_id': '0',
}) }}
from {{ ref('int_persons') }} as persons
left join {{ ref('int_locations') }} as locations
    on persons.state is not distinct from locations.state
    and persons.zip5 is not distinct from locations.zip5
    and persons.county is not distinct from locations.county
