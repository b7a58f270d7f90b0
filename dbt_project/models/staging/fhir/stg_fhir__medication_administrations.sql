-- One row per current MedicationAdministration (FHIR R4): a dose given; effective[x], dosage.dose.
-- The drug is medicationCodeableConcept, or the code of the Medication that
-- medicationReference names: contained ("#id") here, a separate resource in the
-- intermediate model.
select
    resource_id as administration_id,
    resource ->> 'status' as status,
    coalesce({{ fhir_reference_id('resource', 'subject') }},
        {{ fhir_reference_id('resource', 'patient') }}) as patient_id,
    {{ fhir_reference_id('resource', 'context') }} as encounter_id,
    {{ fhir_medication_concept('resource') }} as medication_concept,
    {{ fhir_medication_id('resource') }} as medication_id,
    {{ fhir_choice_start('resource', 'effective') }} as start_date,
    {{ fhir_period_end('resource', 'effectivePeriod') }} as end_date,
    {{ fhir_number('resource', 'dosage,dose,value') }} as quantity,
    cast(null as integer) as days_supply,
    as_of_date
from {{ ref('stg_fhir__resources') }}
where resource_type = 'MedicationAdministration'
