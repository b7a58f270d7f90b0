-- One row per surviving claim with amounts (OMOP COST): net amounts after claim version
-- resolution. cost_domain_id is 'Visit' and cost_event_id the visit_occurrence; a claim
-- rolled up into another visit (a visit_detail) keeps its own cost row, with all of its
-- amounts, pointing at that visit (the vocabulary has no visit-detail cost domain).
-- cost_type_concept_id is the type concept the source gave the visit or visit_detail
-- (32810 Claim for claims). A visit or visit_detail without any amount (an EHR encounter,
-- a claim that states none) has no cost row.
with claims as (
    select
        visit_occurrence_id, visit_key as claim_key, visit_type_concept_id as type_concept_id,
        total_charge, paid_by_payer, paid_by_patient, allowed, drg_code, copay, coinsurance,
        deductible
    from {{ ref('int_visits') }}
    union all
    select
        visit_occurrence_id, visit_detail_key, visit_detail_type_concept_id, total_charge,
        paid_by_payer, paid_by_patient, allowed, drg_code, copay, coinsurance, deductible
    from {{ ref('int_visit_details') }}
)

select
{{ cdm_select({
    'cost_id': 'row_number() over (order by claim_key)',
    'cost_event_id': 'visit_occurrence_id',
    'cost_domain_id': "'Visit'",
    'cost_type_concept_id': 'type_concept_id',
    'currency_concept_id': '0',
    'total_charge': 'total_charge',
    'total_paid': 'paid_by_payer',
    'paid_by_payer': 'paid_by_payer',
    'paid_by_patient': 'paid_by_patient',
    'paid_patient_copay': 'copay',
    'paid_patient_coinsurance': 'coinsurance',
    'paid_patient_deductible': 'deductible',
    'amount_allowed': 'allowed',
    'revenue_code_concept_id': '0',
    'drg_concept_id': '0',
    'drg_source_value': 'drg_code',
}) }}
from claims
where coalesce(total_charge, paid_by_payer, paid_by_patient, allowed, copay, coinsurance,
    deductible) is not null
