-- One row per enrollment span (docs/cclf_mapping.md, "Enrollment"): Medicare coverage
-- from CCLF8 reporting months, for payer_plan_period and observation_period.
select
    current_mbi as person_key,
    span_start,
    span_end,
    'Medicare' as payer_source_value,
    case when dual_status_code in ('02', '04', '08') then 'Medicare FFS, full dual'
         when dual_status_code in ('01', '03', '05', '06') then 'Medicare FFS, partial dual'
         else 'Medicare FFS'
    end as plan_source_value
from {{ ref('int_enrollment_spans__cclf') }}
