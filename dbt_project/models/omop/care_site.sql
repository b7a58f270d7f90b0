-- One row per facility named on a claim (OMOP CARE_SITE), e.g. a CCLF billing OSCAR.
select
{{ cdm_select({
    'care_site_id': 'care_site_id',
    'place_of_service_concept_id': '0',
    'care_site_source_value': 'care_site_key',
}) }}
from {{ ref('int_care_sites') }}
