-- One row per event whose code maps to the Measurement domain (OMOP MEASUREMENT).
select
{{ cdm_select({
    'measurement_id': 'events.event_id',
    'person_id': 'events.person_id',
    'measurement_concept_id': 'events.concept_id',
    'measurement_date': 'events.start_date',
    'measurement_datetime': 'events.start_date',
    'measurement_type_concept_id': 'events.type_concept_id',
    'operator_concept_id': '0',
    'value_as_number': 'events.value_as_number',
    'value_as_concept_id': 'coalesce(events.value_as_concept_id, events.value_concept_id, 0)',
    'unit_concept_id': 'coalesce(events.unit_concept_id, 0)',
    'range_low': 'events.range_low',
    'range_high': 'events.range_high',
    'provider_id': 'providers.provider_id',
    'visit_occurrence_id': 'events.visit_occurrence_id',
    'visit_detail_id': 'events.visit_detail_id',
    'measurement_source_value': 'events.source_code',
    'measurement_source_concept_id': 'events.source_concept_id',
    'unit_source_value': 'events.unit_source_value',
    'value_source_value': 'coalesce(events.value_as_string, cast(events.value_as_number as text))',
}) }}
from {{ ref('int_events') }} as events
left join {{ ref('int_providers') }} as providers on events.provider_npi = providers.npi
where events.target_domain = 'Measurement'
