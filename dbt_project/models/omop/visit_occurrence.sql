-- One row per surviving claim or encounter (OMOP VISIT_OCCURRENCE); visit_source_value
-- is the source claim id (CCLF CUR_CLM_UNIQ_ID of the final version).
select
{{ cdm_select({
    'visit_occurrence_id': 'visits.visit_occurrence_id',
    'person_id': 'visits.person_id',
    'visit_concept_id': 'visits.visit_concept_id',
    'visit_start_date': 'visits.start_date',
    'visit_start_datetime': 'visits.start_date',
    'visit_end_date': 'visits.end_date',
    'visit_end_datetime': 'visits.end_date',
    'visit_type_concept_id': 'visits.visit_type_concept_id',
    'provider_id': 'providers.provider_id',
    'care_site_id': 'care_sites.care_site_id',
    'visit_source_value': 'visits.visit_source_value',
    'visit_source_concept_id': '0',
    'admitted_from_concept_id': '0',
    'admitted_from_source_value': 'visits.admitted_from_source_value',
    'discharged_to_concept_id': '0',
    'discharged_to_source_value': 'visits.discharged_to_source_value',
}) }}
from {{ ref('int_visits') }} as visits
left join {{ ref('int_providers') }} as providers on visits.provider_npi = providers.npi
left join {{ ref('int_care_sites') }} as care_sites
    on visits.source = care_sites.source and visits.care_site_key = care_sites.care_site_key
