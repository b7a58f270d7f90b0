-- One row per event whose code maps to the Observation domain (OMOP OBSERVATION).
select
{{ cdm_select({
    'observation_id': 'events.event_id',
    'person_id': 'events.person_id',
    'observation_concept_id': 'events.concept_id',
    'observation_date': 'events.start_date',
    'observation_datetime': 'events.start_date',
    'observation_type_concept_id': 'events.type_concept_id',
    'value_as_number': 'events.value_as_number',
    'value_as_string': 'events.value_as_string',
    'value_as_concept_id': 'coalesce(events.value_as_concept_id, events.value_concept_id, 0)',
    'qualifier_concept_id': '0',
    'unit_concept_id': 'coalesce(events.unit_concept_id, 0)',
    'unit_source_value': 'events.unit_source_value',
    'provider_id': 'providers.provider_id',
    'visit_occurrence_id': 'events.visit_occurrence_id',
    'visit_detail_id': 'events.visit_detail_id',
    'observation_source_value': 'events.source_code',
    'observation_source_concept_id': 'events.source_concept_id',
}) }}
from {{ ref('int_events') }} as events
left join {{ ref('int_providers') }} as providers on events.provider_npi = providers.npi
where events.target_domain = 'Observation'
