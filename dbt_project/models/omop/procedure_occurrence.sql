-- One row per procedure code that maps to the Procedure domain, or is unmapped and came
-- from a procedure field (OMOP PROCEDURE_OCCURRENCE); the first HCPCS modifier is kept.
select
{{ cdm_select({
    'procedure_occurrence_id': 'events.event_id',
    'person_id': 'events.person_id',
    'procedure_concept_id': 'events.concept_id',
    'procedure_date': 'events.start_date',
    'procedure_datetime': 'events.start_date',
    'procedure_end_date': 'events.end_date',
    'procedure_end_datetime': 'events.end_date',
    'procedure_type_concept_id': 'events.type_concept_id',
    'modifier_concept_id': '0',
    'quantity': 'round(events.quantity)',
    'provider_id': 'providers.provider_id',
    'visit_occurrence_id': 'events.visit_occurrence_id',
    'visit_detail_id': 'events.visit_detail_id',
    'procedure_source_value': 'events.source_code',
    'procedure_source_concept_id': 'events.source_concept_id',
    'modifier_source_value': 'events.modifier',
}) }}
from {{ ref('int_events') }} as events
left join {{ ref('int_providers') }} as providers on events.provider_npi = providers.npi
where events.target_domain = 'Procedure'
