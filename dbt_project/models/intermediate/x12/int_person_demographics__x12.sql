-- One row per distinct set of linkage demographics an X12 person was billed with (the
-- patient's: the subscriber's loop 2010BA, or 2010CA for a dependent), from every
-- surviving claim, for the linkage tokens (etl/linkage/tokens.py); never leaves the
-- warehouse.
select distinct
    'payer_member' as key_system,
    person_key,
    case when patient_last_name is null then subscriber_first_name else patient_first_name end
        as first_name,
    case when patient_last_name is null then subscriber_last_name else patient_last_name end
        as last_name,
    case sex when 'M' then 'M' when 'F' then 'F' end as sex,
    birth_date,
    left(zip, 5) as zip5
from {{ ref('int_claims__x12') }}
where person_key is not null
