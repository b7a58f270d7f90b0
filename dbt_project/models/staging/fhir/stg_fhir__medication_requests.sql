-- One row per current MedicationRequest (FHIR R4): the prescription or order; authoredOn, dispenseRequest quantity and expected supply duration.
-- The drug is medicationCodeableConcept, or the code of the Medication that
-- medicationReference names: contained ("#id") here, a separate resource in the
-- intermediate model.
select
    resource_id as request_id,
    resource ->> 'status' as status,
    coalesce({{ fhir_reference_id('resource', 'subject') }},
        {{ fhir_reference_id('resource', 'patient') }}) as patient_id,
    {{ fhir_reference_id('resource', 'encounter') }} as encounter_id,
    {{ fhir_medication_concept('resource') }} as medication_concept,
    {{ fhir_medication_id('resource') }} as medication_id,
    coalesce({{ fhir_date("resource ->> 'authoredOn'") }},
        {{ fhir_period_start('resource', 'dispenseRequest,validityPeriod') }}) as start_date,
    cast(null as date) as end_date,
    {{ fhir_number('resource', 'dispenseRequest,quantity,value') }} as quantity,
    -- expectedSupplyDuration is a Duration: only a count of days (UCUM d) is a days supply.
    case when jsonb_typeof(resource #> '{dispenseRequest,expectedSupplyDuration,value}') = 'number'
        and coalesce(resource #>> '{dispenseRequest,expectedSupplyDuration,code}',
            resource #>> '{dispenseRequest,expectedSupplyDuration,unit}') in ('d', 'day', 'days')
        then cast(round(cast(resource #>> '{dispenseRequest,expectedSupplyDuration,value}'
            as numeric)) as integer) end as days_supply,
    as_of_date
from {{ ref('stg_fhir__resources') }}
where resource_type = 'MedicationRequest'
