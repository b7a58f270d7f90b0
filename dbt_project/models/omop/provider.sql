-- One row per provider NPI seen on a claim or encounter (OMOP PROVIDER).
select
{{ cdm_select({
    'provider_id': 'provider_id',
    'npi': 'npi',
    'specialty_concept_id': '0',
    'gender_concept_id': '0',
    'provider_source_value': 'npi',
    'specialty_source_concept_id': '0',
    'gender_source_concept_id': '0',
}) }}
from {{ ref('int_providers') }}
