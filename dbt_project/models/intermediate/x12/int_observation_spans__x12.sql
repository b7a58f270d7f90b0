-- One row per span in which an X12 person is observed: their coverage spans from
-- claims (int_enrollment__x12); the OMOP model adds the visits and merges overlaps.
select
    person_key,
    span_start,
    span_end
from {{ ref('int_enrollment__x12') }}
