-- One row per address area of a person (OMOP LOCATION): state, ZIP and county only.
select
{{ cdm_select({
    'location_id': 'location_id',
    'city': 'city',
    'state': 'state',
    'zip': 'zip5',
    'county': 'county',
    'location_source_value': "concat_ws('|', state, zip5, county)",
    'country_concept_id': '42046186',
    'country_source_value': "'US'",
}) }}
from {{ ref('int_locations') }}
