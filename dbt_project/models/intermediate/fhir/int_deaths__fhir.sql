-- One row per Patient with a death date (Patient.deceasedDateTime; int_persons__fhir),
-- with the type concept of its record: 32817 (EHR); a CMS Blue Button / CARIN BB Patient
-- is Medicare enrollment data, 32810 (Claim), as CCLF8's death dates are.
select
    persons.person_key,
    persons.death_date,
    case when patients.is_payer_record then 32810 else 32817 end as death_type_concept_id
from {{ ref('int_persons__fhir') }} as persons
inner join {{ ref('stg_fhir__patients') }} as patients on persons.person_key = patients.patient_id
where persons.death_date is not null
