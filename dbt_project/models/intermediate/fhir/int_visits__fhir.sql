-- One row per visit_occurrence of the FHIR source (docs/fhir_mapping.md, "Visits"):
-- every top-level Encounter that happened (type 32817, EHR), and every adjudicated
-- claim (ExplanationOfBenefit) not linked to such an encounter (type 32810, Claim), with
-- its payments. visit_source_value is the Encounter or ExplanationOfBenefit id.
select
    encounters.visit_key,
    encounters.patient_id as person_key,
    encounters.visit_concept_id,
    encounters.start_date,
    encounters.end_date,
    encounters.encounter_id as visit_source_value,
    cast(null as text) as claim_type,
    encounters.provider_npi,
    encounters.care_site_key,
    encounters.admit_source_code as admitted_from_source_value,
    encounters.discharge_disposition_code as discharged_to_source_value,
    cast(null as numeric) as paid_by_payer,
    cast(null as numeric) as total_charge,
    cast(null as numeric) as allowed,
    cast(null as numeric) as paid_by_patient,
    cast(null as text) as drg_code,
    32817 as visit_type_concept_id,
    cast(null as numeric) as copay,
    cast(null as numeric) as coinsurance,
    cast(null as numeric) as deductible
from {{ ref('int_encounters__fhir') }} as encounters
where encounters.visit_detail_key is null

union all

select
    claims.claim_key,
    claims.patient_id,
    claims.visit_concept_id,
    claims.start_date,
    claims.end_date,
    claims.eob_id,
    claims.claim_type,
    claims.provider_npi,
    claims.care_site_key,
    claims.admission_source,
    claims.discharge_status,
    claims.paid_by_payer,
    claims.total_charge,
    claims.allowed,
    claims.paid_by_patient,
    claims.drg_code,
    32810,
    claims.copay,
    claims.coinsurance,
    claims.deductible
from {{ ref('int_claims__fhir') }} as claims
where claims.linked_visit_key is null and claims.start_date is not null
