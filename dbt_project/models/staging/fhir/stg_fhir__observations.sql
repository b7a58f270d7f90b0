-- One row per current Observation (FHIR R4): categories, code, effective date, value[x]
-- (Quantity with its UCUM code, CodeableConcept, string, boolean, integer), the first
-- reference range, and the components (e.g. the two pressures of a blood pressure panel)
-- as a JSON array the intermediate model unnests.
select
    resource_id as observation_id,
    resource ->> 'status' as status,
    {{ fhir_reference_id('resource', 'subject') }} as patient_id,
    {{ fhir_reference_id('resource', 'encounter') }} as encounter_id,
    {{ fhir_codes('resource', '$.category[*]') }} as categories,
    resource -> 'code' as code,
    {{ fhir_choice_start('resource', 'effective', ["resource ->> 'issued'"]) }} as effective_date,
    resource -> 'valueQuantity' as value_quantity,
    resource -> 'valueCodeableConcept' as value_concept,
    coalesce(resource ->> 'valueString', resource ->> 'valueBoolean',
        resource ->> 'valueInteger', resource ->> 'valueDateTime') as value_text,
    resource #> '{referenceRange,0}' as reference_range,
    coalesce(resource -> 'component', '[]'::jsonb) as components,
    (resource ? 'valueQuantity' or resource ? 'valueCodeableConcept' or resource ? 'valueString'
        or resource ? 'valueBoolean' or resource ? 'valueInteger' or resource ? 'valueDateTime'
        or resource ? 'valueRange' or resource ? 'valueRatio' or resource ? 'valuePeriod'
        or resource ? 'valueTime' or resource ? 'valueSampledData') as has_value,
    as_of_date
from {{ ref('stg_fhir__resources') }}
where resource_type = 'Observation'
