-- One row per medication event and immunization (HL7 FHIR-to-OMOP IG, Medication →
-- drug_exposure). drug_type_concept_id tells where the record comes from (Type Concept
-- vocabulary): MedicationRequest 32838 (EHR prescription; the IG leaves `intent` out of
-- the mapping), MedicationDispense 32825 (EHR dispensing record), MedicationAdministration
-- and Immunization 32818 (EHR administration record), MedicationStatement and an
-- Immunization reported rather than given (primarySource false) 32865 (Patient
-- self-report). Statuses that mean nothing was prescribed, given or taken yield nothing:
-- request cancelled/draft, statement not-taken/intended, administration not-done,
-- dispense preparation/cancelled/declined, immunization not-done.
-- The drug is medicationCodeableConcept or the code of the referenced Medication
-- (int_codings__fhir); an expected supply or days supply sets the end date.
with drug_records as (
    select 'MedicationRequest' as resource_type, request_id as resource_id, status,
        patient_id, encounter_id, start_date, end_date, quantity, days_supply, as_of_date,
        'medication' as element, 32838 as type_concept_id
    from {{ ref('stg_fhir__medication_requests') }}
    where coalesce(status, 'unknown') not in ('cancelled', 'draft')
    union all
    select 'MedicationStatement', statement_id, status, patient_id, encounter_id, start_date,
        end_date, quantity, days_supply, as_of_date, 'medication', 32865
    from {{ ref('stg_fhir__medication_statements') }}
    where coalesce(status, 'unknown') not in ('not-taken', 'intended')
    union all
    select 'MedicationAdministration', administration_id, status, patient_id, encounter_id,
        start_date, end_date, quantity, days_supply, as_of_date, 'medication', 32818
    from {{ ref('stg_fhir__medication_administrations') }}
    where coalesce(status, 'unknown') <> 'not-done'
    union all
    select 'MedicationDispense', dispense_id, status, patient_id, encounter_id, start_date,
        end_date, quantity, days_supply, as_of_date, 'medication', 32825
    from {{ ref('stg_fhir__medication_dispenses') }}
    where coalesce(status, 'unknown') not in ('preparation', 'cancelled', 'declined')
    union all
    select 'Immunization', immunization_id, status, patient_id, encounter_id, start_date,
        null, quantity, null, as_of_date, 'vaccine',
        case when primary_source then 32818 else 32865 end
    from {{ ref('stg_fhir__immunizations') }}
    where coalesce(status, 'completed') = 'completed'
)

select
    drug_records.resource_type || '/' || drug_records.resource_id as record_key,
    encounters.visit_key,
    encounters.visit_detail_key,
    drug_records.patient_id as person_key,
    codings.code_system,
    codings.source_code,
    'Drug' as default_domain,
    coalesce(drug_records.start_date, encounters.start_date, drug_records.as_of_date)
        as start_date,
    coalesce(
        case when drug_records.end_date >= drug_records.start_date then drug_records.end_date end,
        cast(drug_records.start_date + greatest(drug_records.days_supply, 1) - 1 as date)
    ) as end_date,
    drug_records.quantity,
    drug_records.days_supply,
    drug_records.type_concept_id
from drug_records
inner join {{ ref('int_codings__fhir') }} as codings
    on codings.resource_type = drug_records.resource_type
    and codings.resource_id = drug_records.resource_id
    and codings.element = drug_records.element
left join {{ ref('int_encounters__fhir') }} as encounters
    on drug_records.encounter_id = encounters.encounter_id
where drug_records.patient_id is not null
