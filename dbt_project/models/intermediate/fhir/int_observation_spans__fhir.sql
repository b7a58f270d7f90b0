-- One row per span in which a FHIR person is observed: coverage periods
-- (int_enrollment__fhir), and one activity span per person from their first to their
-- last recorded event or visit (an EHR sees a person between their first and last
-- record; the OMOP model adds visits and merges overlapping spans).
with activity as (
    select person_key, start_date, coalesce(end_date, start_date) as end_date
    from {{ ref('int_events__fhir') }}
    union all
    select person_key, start_date, end_date from {{ ref('int_visits__fhir') }}
    union all
    select person_key, start_date, end_date from {{ ref('int_visit_details__fhir') }}
)

select
    person_key,
    min(start_date) as span_start,
    max(greatest(start_date, end_date)) as span_end
from activity
where start_date is not null
group by person_key

union all

select person_key, span_start, span_end from {{ ref('int_enrollment__fhir') }}
