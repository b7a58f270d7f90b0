-- One row per (code system, code as sources write it, standard concept it maps to).
-- Sources write codes without dots (CCLF, X12) while Athena keeps ICD dots, so codes are
-- looked up dot-free and upper-case; HCPCS level II and CPT-4 share one code system as
-- claims carry both in the same field. OMOP convention: 'Maps to' gives the standard
-- concept, 'Maps to value' the value concept. A code that maps to nothing has one row
-- with null standard_concept_id (callers coalesce to 0; no record is ever dropped).
with source_concepts as (
    select
        concept_id,
        case when vocabulary_id in ('CPT4', 'HCPCS') then 'HCPCS' else vocabulary_id end
            as code_system,
        upper(replace(concept_code, '.', '')) as lookup_code,
        domain_id
    from {{ source('vocab', 'concept') }}
    where vocabulary_id in ('ICD10CM', 'ICD9CM', 'ICD10PCS', 'ICD9Proc', 'CPT4', 'HCPCS',
                            'NDC', 'RxNorm', 'LOINC', 'SNOMED', 'CVX', 'ICD10', 'UCUM')
),

maps_to as (
    select concept_id_1, concept_id_2
    from {{ source('vocab', 'concept_relationship') }}
    where relationship_id = 'Maps to' and invalid_reason is null
),

maps_to_value as (
    select concept_id_1, min(concept_id_2) as value_concept_id
    from {{ source('vocab', 'concept_relationship') }}
    where relationship_id = 'Maps to value' and invalid_reason is null
    group by concept_id_1
),

standard as (
    select concept_id, domain_id
    from {{ source('vocab', 'concept') }}
    where standard_concept = 'S' and invalid_reason is null
),

local_maps as (
    -- The site's source_to_concept_map, for codes Athena does not carry.
    select
        source_vocabulary_id as code_system,
        upper(replace(source_code, '.', '')) as lookup_code,
        source_concept_id,
        target_concept_id
    from {{ source('vocab', 'source_to_concept_map') }}
    where invalid_reason is null
)

select
    source_concepts.code_system,
    source_concepts.lookup_code,
    source_concepts.concept_id as source_concept_id,
    source_concepts.domain_id as source_domain_id,
    coalesce(standard.concept_id, self_standard.concept_id) as standard_concept_id,
    coalesce(standard.domain_id, self_standard.domain_id) as standard_domain_id,
    maps_to_value.value_concept_id
from source_concepts
left join maps_to on source_concepts.concept_id = maps_to.concept_id_1
left join standard on maps_to.concept_id_2 = standard.concept_id
-- A standard concept with no 'Maps to' row (subsets miss the self-map) maps to itself.
left join standard as self_standard
    on maps_to.concept_id_1 is null and source_concepts.concept_id = self_standard.concept_id
left join maps_to_value on source_concepts.concept_id = maps_to_value.concept_id_1

union all

select
    local_maps.code_system,
    local_maps.lookup_code,
    local_maps.source_concept_id,
    null,
    standard.concept_id,
    standard.domain_id,
    null
from local_maps
left join standard on local_maps.target_concept_id = standard.concept_id
