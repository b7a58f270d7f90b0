-- One row per visit_occurrence across sources, with its OMOP ids. Visits of people who
-- are not OMOP persons are left out (they stay in staging and are counted by the report).
with visits as (
    {{ union_source_models('int_visits') }}
)

select
    row_number() over (order by visits.source, visits.visit_key) as visit_occurrence_id,
    people.person_id,
    visits.*
from visits
inner join {{ ref('int_person_index') }} as people
    on visits.source = people.source and visits.person_key = people.person_key
