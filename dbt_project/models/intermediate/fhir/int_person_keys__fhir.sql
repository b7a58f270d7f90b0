-- One row per Patient: the FHIR source knows a person by Patient.id (id_system
-- 'fhir_patient'), its canonical key. Other identifiers a Patient carries (the MBI of
-- CMS data, MRNs) are listed in int_patient_identifiers__fhir for the cross-source
-- identity step; they are not aliases here, so one source keeps one key per person.
select
    'fhir_patient' as id_system,
    patient_id as id_value,
    patient_id as canonical_value
from {{ ref('stg_fhir__patients') }}
