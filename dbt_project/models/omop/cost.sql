-- One row per visit with payments (OMOP COST, cost_domain_id 'Visit'): net amounts after
-- claim version resolution; type concept 32810 (Claim).
select
{{ cdm_select({
    'cost_id': 'row_number() over (order by visit_occurrence_id)',
    'cost_event_id': 'visit_occurrence_id',
    'cost_domain_id': "'Visit'",
    'cost_type_concept_id': '32810',
    'currency_concept_id': '0',
    'total_charge': 'total_charge',
    'total_paid': 'paid_by_payer',
    'paid_by_payer': 'paid_by_payer',
    'paid_by_patient': 'paid_by_patient',
    'amount_allowed': 'allowed',
    'revenue_code_concept_id': '0',
    'drg_concept_id': '0',
    'drg_source_value': 'drg_code',
}) }}
from {{ ref('int_visits') }}
where coalesce(paid_by_payer, paid_by_patient, total_charge, allowed) is not null
