-- One row per visit_detail of the FHIR source: an Encounter that is partOf another
-- (within the top-level encounter's visit; type 32817, EHR, and no amounts), and a claim
-- linked to an encounter (its bill: type 32810, Claim, with all of its amounts: charge,
-- what the payer paid and allowed, and the patient's shares).
select
    encounters.visit_detail_key,
    encounters.visit_key,
    encounters.patient_id as person_key,
    encounters.visit_concept_id as visit_detail_concept_id,
    encounters.start_date,
    encounters.end_date,
    encounters.encounter_id as visit_detail_source_value,
    encounters.provider_npi,
    cast(null as numeric) as paid_by_payer,
    cast(null as numeric) as allowed,
    32817 as visit_detail_type_concept_id,
    {{ no_charge_or_patient_shares() }}
from {{ ref('int_encounters__fhir') }} as encounters
where encounters.visit_detail_key is not null

union all

select
    claims.claim_key,
    claims.linked_visit_key,
    claims.patient_id,
    claims.visit_concept_id,
    claims.start_date,
    claims.end_date,
    claims.eob_id,
    claims.provider_npi,
    claims.paid_by_payer,
    claims.allowed,
    32810,
    claims.total_charge,
    claims.paid_by_patient,
    claims.copay,
    claims.coinsurance,
    claims.deductible,
    claims.drg_code
from {{ ref('int_claims__fhir') }} as claims
where claims.linked_visit_key is not null
