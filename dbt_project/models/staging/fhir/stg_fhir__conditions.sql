-- One row per current Condition (FHIR R4): status codes, categories, code, dates.
select
    resource_id as condition_id,
    {{ fhir_reference_id('resource', 'subject') }} as patient_id,
    {{ fhir_reference_id('resource', 'encounter') }} as encounter_id,
    {{ fhir_code('resource', '$.clinicalStatus') }} as clinical_status,
    {{ fhir_code('resource', '$.verificationStatus') }} as verification_status,
    {{ fhir_codes('resource', '$.category[*]') }} as categories,
    resource -> 'code' as code,
    {{ fhir_choice_start('resource', 'onset') }} as onset_date,
    {{ fhir_date("resource ->> 'recordedDate'") }} as recorded_date,
    {{ fhir_choice_end('resource', 'abatement') }} as abatement_date,
    as_of_date
from {{ ref('stg_fhir__resources') }}
where resource_type = 'Condition'
