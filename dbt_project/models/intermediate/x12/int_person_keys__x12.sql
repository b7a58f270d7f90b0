-- One row per X12 person key: payer id + member id (2010BB NM109 + 2010BA NM109), plus
-- the patient's name and birth date for a dependent (2000C). Keys come from surviving
-- claims; `etl` keeps etl.person_crosswalk in step with this table.
select distinct
    'payer_member' as id_system,
    person_key as id_value,
    person_key as canonical_value
from {{ ref('int_claims__x12') }}
where person_key is not null
