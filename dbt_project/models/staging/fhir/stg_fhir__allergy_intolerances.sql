-- One row per current AllergyIntolerance (FHIR R4): statuses, code, onset or recorded date.
select
    resource_id as allergy_id,
    {{ fhir_reference_id('resource', 'patient') }} as patient_id,
    {{ fhir_reference_id('resource', 'encounter') }} as encounter_id,
    {{ fhir_code('resource', '$.clinicalStatus') }} as clinical_status,
    {{ fhir_code('resource', '$.verificationStatus') }} as verification_status,
    resource -> 'code' as code,
    {{ fhir_choice_start('resource', 'onset', ["resource ->> 'recordedDate'"]) }} as start_date,
    as_of_date
from {{ ref('stg_fhir__resources') }}
where resource_type = 'AllergyIntolerance'
