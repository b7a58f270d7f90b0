-- One row per current Immunization (FHIR R4): vaccineCode (CVX), occurrence, dose,
-- and whether the record comes from the giver (primarySource) or a report.
select
    resource_id as immunization_id,
    resource ->> 'status' as status,
    {{ fhir_reference_id('resource', 'patient') }} as patient_id,
    {{ fhir_reference_id('resource', 'encounter') }} as encounter_id,
    resource -> 'vaccineCode' as vaccine_code,
    {{ fhir_date("coalesce(resource ->> 'occurrenceDateTime', resource ->> 'recorded')") }}
        as start_date,
    {{ fhir_number('resource', 'doseQuantity,value') }} as quantity,
    coalesce(resource -> 'primarySource' <> 'false'::jsonb, true) as primary_source,
    as_of_date
from {{ ref('stg_fhir__resources') }}
where resource_type = 'Immunization'
