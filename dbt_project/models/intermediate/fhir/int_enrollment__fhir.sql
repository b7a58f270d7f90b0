-- One row per Coverage period (FHIR R4 Coverage; CARIN BB C4BB-Coverage) → payer_plan_period.
-- Cancelled and draft coverages are not coverage; one without period.start cannot be
-- placed. An open period (no end) runs to the date the source stood at: the export's
-- transactionTime (else when it was landed). payer: Coverage.payor; plan: the `plan`
-- class (BFD: Part A, Part B, Part D), else the `group` class, else Coverage.type.
select
    patient_id as person_key,
    start_date as span_start,
    greatest(coalesce(end_date, as_of_date), start_date) as span_end,
    left(payor, 50) as payer_source_value,
    left(coalesce(plan_value, group_value, coverage_type), 50) as plan_source_value
from {{ ref('stg_fhir__coverages') }}
where coalesce(status, 'active') not in ('cancelled', 'draft')
    and patient_id is not null
    and start_date is not null
