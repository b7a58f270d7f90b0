-- One row per span in which a CCLF beneficiary is observed: Medicare enrollment spans
-- (claims extend them in the OMOP observation_period model).
select
    current_mbi as person_key,
    span_start,
    span_end
from {{ ref('int_enrollment_spans__cclf') }}
