-- One row per current Immunization (FHIR R4): vaccineCode (CVX), occurrence, dose,
-- and whether the record comes from the giver (primarySource) or a report.
select
    resource_id as immunization_id,
    resource ->> 'status' as status,
    substring(resource #>> '{patient,reference}' from '([^/:]+)(?:/_history/[^/]*)?$')
        as patient_id,
    substring(resource #>> '{encounter,reference}' from '([^/:]+)(?:/_history/[^/]*)?$')
        as encounter_id,
    resource -> 'vaccineCode' as vaccine_code,
    to_date(left(coalesce(resource ->> 'occurrenceDateTime', resource ->> 'recorded'), 10),
        'YYYY-MM-DD') as start_date,
    case when jsonb_typeof(resource #> '{doseQuantity,value}') = 'number'
        then cast(resource #>> '{doseQuantity,value}' as numeric) end as quantity,
    coalesce(resource -> 'primarySource' <> 'false'::jsonb, true) as primary_source,
    as_of_date
from {{ ref('stg_fhir__resources') }}
where resource_type = 'Immunization'
