-- One row per surviving claim with payments (OMOP COST): net amounts after claim version
-- resolution, type concept 32810 (Claim). cost_domain_id is 'Visit' and cost_event_id
-- the visit_occurrence; a claim rolled up into another visit (a visit_detail) keeps its
-- own cost row pointing at that visit (the vocabulary has no visit-detail cost domain).
with claims as (
    select
        visit_occurrence_id, visit_key as claim_key, total_charge, paid_by_payer,
        paid_by_patient, allowed, drg_code, copay, coinsurance, deductible
    from {{ ref('int_visits') }}
    union all
    select
        visit_occurrence_id, visit_detail_key, null, paid_by_payer, null, allowed, null, null,
        null, null
    from {{ ref('int_visit_details') }}
)

select
{{ cdm_select({
    'cost_id': 'row_number() over (order by claim_key)',
    'cost_event_id': 'visit_occurrence_id',
    'cost_domain_id': "'Visit'",
    'cost_type_concept_id': '32810',
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
