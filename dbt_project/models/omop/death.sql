-- One row per person with a death date (OMOP DEATH). The date is the person's
-- (int_persons, which decides between sources); the type concept comes from the source
-- that recorded that date (each source's int_deaths__<source>: 32810 Claim for CCLF8,
-- 32817 EHR for a FHIR Patient), the first in var('omop_sources') order when several did.
with deaths as (
    {{ union_source_models('int_deaths') }}
),

recorded as (
    select
        people.person_id,
        deaths.death_date,
        deaths.death_type_concept_id,
        array_position(array[
            {%- for source_name in var('omop_sources') %}'{{ source_name }}'
            {%- if not loop.last %}, {% endif %}{% endfor -%}
        ], deaths.source) as precedence
    from deaths
    inner join {{ ref('int_person_index') }} as people
        on deaths.source = people.source and deaths.person_key = people.person_key
),

typed as (
    select distinct on (persons.person_id)
        persons.person_id,
        persons.death_date,
        recorded.death_type_concept_id
    from {{ ref('int_persons') }} as persons
    inner join recorded on persons.person_id = recorded.person_id
    where persons.death_date is not null
    -- The source whose date the person carries; else (no source recorded that date) the
    -- first source that recorded a death.
    order by persons.person_id, recorded.death_date = persons.death_date desc,
        recorded.precedence
)

select
{{ cdm_select({
    'person_id': 'person_id',
    'death_date': 'death_date',
    'death_datetime': 'death_date',
    'death_type_concept_id': 'death_type_concept_id',
    'cause_concept_id': '0',
    'cause_source_concept_id': '0',
}) }}
from typed
