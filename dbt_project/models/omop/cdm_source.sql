-- One row describing this build (OMOP CDM_SOURCE): CDM and vocabulary versions; the
-- source release date is the latest of the enabled sources' (int_source_releases__*).
select
{{ cdm_select({
    'cdm_source_name': "'omop-etl warehouse'",
    'cdm_source_abbreviation': "'omop-etl'",
    'cdm_holder': "'the site running omop-etl'",
    'source_description': "'CMS CCLF, X12 837/835 and FHIR R4 extracts transformed by omop-etl'",
    'source_documentation_reference': "'docs/cclf_mapping.md'",
    'cdm_etl_reference': "'omop-etl'",
    'source_release_date': 'coalesce((select max(released_on) from (' ~ union_source_models('int_source_releases') ~ ') as releases), current_date)',
    'cdm_release_date': 'current_date',
    'cdm_version': "'v5.4'",
    'cdm_version_concept_id': '756265',
    'vocabulary_version': "coalesce((select vocabulary_version from " ~ source('vocab', 'vocabulary') ~ " where vocabulary_id = 'None'), 'unknown')",
}) }}
