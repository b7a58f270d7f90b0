-- One row per person, payer and plan: the span from the first to the last service date
-- of their surviving claims with that payer (2010BB NM109) and plan (2000B SBR09 claim
-- filing indicator and SBR03 group number). Claims attest coverage on the days they
-- were paid for; without an 834 enrollment feed this is the best evidence of coverage.
select
    person_key,
    min(start_date) as span_start,
    max(end_date) as span_end,
    payer_id as payer_source_value,
    concat_ws(':', claim_filing_indicator, group_number) as plan_source_value
from {{ ref('int_claims__x12') }}
where start_date is not null
group by person_key, payer_id, concat_ws(':', claim_filing_indicator, group_number)
