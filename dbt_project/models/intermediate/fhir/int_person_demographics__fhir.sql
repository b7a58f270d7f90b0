-- One row per distinct set of linkage demographics of a Patient: each of its names
-- (official, usual, maiden and old names alike: an earlier name still finds older records
-- elsewhere) with its gender, birth date and home ZIP, for the linkage tokens
-- (etl/linkage/tokens.py); never leaves the warehouse.
with patients as (
    select resource_id as patient_id, resource
    from {{ ref('stg_fhir__resources') }}
    where resource_type = 'Patient'
),

names as (
    select patients.patient_id, entry
    from patients,
        jsonb_path_query(patients.resource, '$.name[*]') as entry
    where coalesce(entry ->> 'use', '') not in ('nickname', 'anonymous')
)

select distinct
    'fhir_patient' as key_system,
    names.patient_id as person_key,
    names.entry #>> '{given,0}' as first_name,
    names.entry ->> 'family' as last_name,
    case persons.gender when 'male' then 'M' when 'female' then 'F' end as sex,
    persons.birth_date,
    substring(persons.address ->> 'postalCode' from '^\d{5}') as zip5
from names
inner join {{ ref('stg_fhir__patients') }} as persons on names.patient_id = persons.patient_id
