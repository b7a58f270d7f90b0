-- One row per drug event: NDC fills and drug HCPCS (OMOP DRUG_EXPOSURE); pharmacy
-- claims carry quantity and days supply; the type concept tells claims, prescriptions,
-- administrations and patient reports apart.
select
{{ cdm_select({
    'drug_exposure_id': 'events.event_id',
    'person_id': 'events.person_id',
    'drug_concept_id': 'events.concept_id',
    'drug_exposure_start_date': 'events.start_date',
    'drug_exposure_start_datetime': 'events.start_date',
    'drug_exposure_end_date': 'coalesce(events.end_date, events.start_date)',
    'drug_exposure_end_datetime': 'coalesce(events.end_date, events.start_date)',
    'drug_type_concept_id': 'events.type_concept_id',
    'quantity': 'events.quantity',
    'days_supply': 'events.days_supply',
    'route_concept_id': '0',
    'provider_id': 'providers.provider_id',
    'visit_occurrence_id': 'events.visit_occurrence_id',
    'visit_detail_id': 'events.visit_detail_id',
    'drug_source_value': 'events.source_code',
    'drug_source_concept_id': 'events.source_concept_id',
}) }}
from {{ ref('int_events') }} as events
left join {{ ref('int_providers') }} as providers on events.provider_npi = providers.npi
where events.target_domain = 'Drug'
