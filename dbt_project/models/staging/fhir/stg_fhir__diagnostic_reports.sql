-- One row per current DiagnosticReport (FHIR R4): code, date, and the Observations it
-- lists as results (DiagnosticReport.result).
select
    resource_id as report_id,
    resource ->> 'status' as status,
    {{ fhir_reference_id('resource', 'subject') }} as patient_id,
    {{ fhir_reference_id('resource', 'encounter') }} as encounter_id,
    {{ fhir_codes('resource', '$.category[*]') }} as categories,
    resource -> 'code' as code,
    {{ fhir_choice_start('resource', 'effective', ["resource ->> 'issued'"]) }} as effective_date,
    array(
        select {{ fhir_id("reference #>> '{}'") }}
        from jsonb_path_query(resource, '$.result[*].reference') as listed (reference)
    ) as result_ids,
    resource ->> 'conclusion' as conclusion,
    as_of_date
from {{ ref('stg_fhir__resources') }}
where resource_type = 'DiagnosticReport'
