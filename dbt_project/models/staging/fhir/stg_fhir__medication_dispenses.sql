-- One row per current MedicationDispense (FHIR R4): a fill handed over; quantity, daysSupply.
-- The drug is medicationCodeableConcept, or the code of the Medication that
-- medicationReference names: contained ("#id") here, a separate resource in the
-- intermediate model.
select
    resource_id as dispense_id,
    resource ->> 'status' as status,
    coalesce({{ fhir_reference_id('resource', 'subject') }},
        {{ fhir_reference_id('resource', 'patient') }}) as patient_id,
    {{ fhir_reference_id('resource', 'context') }} as encounter_id,
    {{ fhir_medication_concept('resource') }} as medication_concept,
    {{ fhir_medication_id('resource') }} as medication_id,
    {{ fhir_date("coalesce(resource ->> 'whenHandedOver', resource ->> 'whenPrepared')") }}
        as start_date,
    cast(null as date) as end_date,
    {{ fhir_number('resource', 'quantity,value') }} as quantity,
    case when jsonb_typeof(resource #> '{daysSupply,value}') = 'number'
        then cast(round(cast(resource #>> '{daysSupply,value}' as numeric)) as integer)
    end as days_supply,
    as_of_date
from {{ ref('stg_fhir__resources') }}
where resource_type = 'MedicationDispense'
