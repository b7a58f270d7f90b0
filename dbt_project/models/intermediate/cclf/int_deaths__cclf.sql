-- One row per beneficiary with a death date (CCLF8 BENE_DEATH_DT; int_persons__cclf), with
-- the type concept of its record: 32810 (Claim), as for every CCLF-derived record.
select
    person_key,
    death_date,
    32810 as death_type_concept_id
from {{ ref('int_persons__cclf') }}
where death_date is not null
