-- One row per device event, e.g. DME HCPCS (OMOP DEVICE_EXPOSURE).
select
{{ cdm_select({
    'device_exposure_id': 'events.event_id',
    'person_id': 'events.person_id',
    'device_concept_id': 'events.concept_id',
    'device_exposure_start_date': 'events.start_date',
    'device_exposure_start_datetime': 'events.start_date',
    'device_exposure_end_date': 'events.end_date',
    'device_exposure_end_datetime': 'events.end_date',
    'device_type_concept_id': 'events.type_concept_id',
    'quantity': 'round(events.quantity)',
    'provider_id': 'providers.provider_id',
    'visit_occurrence_id': 'events.visit_occurrence_id',
    'visit_detail_id': 'events.visit_detail_id',
    'device_source_value': 'events.source_code',
    'device_source_concept_id': 'events.source_concept_id',
    'unit_concept_id': 'coalesce(events.unit_concept_id, 0)',
    'unit_source_value': 'events.unit_source_value',
}) }}
from {{ ref('int_events') }} as events
left join {{ ref('int_providers') }} as providers on events.provider_npi = providers.npi
where events.target_domain = 'Device'
