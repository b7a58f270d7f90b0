-- One row per diagnosis whose code maps to the Condition domain, or is unmapped and came
-- from a diagnosis field (OMOP CONDITION_OCCURRENCE).
select
{{ cdm_select({
    'condition_occurrence_id': 'events.event_id',
    'person_id': 'events.person_id',
    'condition_concept_id': 'events.concept_id',
    'condition_start_date': 'events.start_date',
    'condition_start_datetime': 'events.start_date',
    'condition_end_date': 'events.end_date',
    'condition_end_datetime': 'events.end_date',
    'condition_type_concept_id': 'events.type_concept_id',
    'condition_status_concept_id': 'coalesce(events.condition_status_concept_id, 0)',
    'provider_id': 'providers.provider_id',
    'visit_occurrence_id': 'events.visit_occurrence_id',
    'visit_detail_id': 'events.visit_detail_id',
    'condition_source_value': 'events.source_code',
    'condition_source_concept_id': 'events.source_concept_id',
}) }}
from {{ ref('int_events') }} as events
left join {{ ref('int_providers') }} as providers on events.provider_npi = providers.npi
where events.target_domain = 'Condition'
