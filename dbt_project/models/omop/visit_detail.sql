-- One row per claim rolled up into another visit (OMOP VISIT_DETAIL), e.g. a Part B claim
-- inside an inpatient stay.
select
{{ cdm_select({
    'visit_detail_id': 'details.visit_detail_id',
    'person_id': 'details.person_id',
    'visit_detail_concept_id': 'details.visit_detail_concept_id',
    'visit_detail_start_date': 'details.start_date',
    'visit_detail_start_datetime': 'details.start_date',
    'visit_detail_end_date': 'details.end_date',
    'visit_detail_end_datetime': 'details.end_date',
    'visit_detail_type_concept_id': 'details.visit_detail_type_concept_id',
    'provider_id': 'providers.provider_id',
    'visit_detail_source_value': 'details.visit_detail_source_value',
    'visit_detail_source_concept_id': '0',
    'admitted_from_concept_id': '0',
    'discharged_to_concept_id': '0',
    'visit_occurrence_id': 'details.visit_occurrence_id',
}) }}
from {{ ref('int_visit_details') }} as details
left join {{ ref('int_providers') }} as providers on details.provider_npi = providers.npi
