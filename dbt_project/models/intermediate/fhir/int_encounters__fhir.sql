{{ config(indexes=[{'columns': ['encounter_id']}]) }}
-- One row per Encounter that happened, with the visit it belongs to. Planned and
-- cancelled encounters did not happen (HL7 FHIR-to-OMOP IG, Encounter → visit_occurrence);
-- an encounter without subject or any date cannot be placed. An encounter that is partOf
-- another (FHIR R4 Encounter.partOf, e.g. a ward stay within an admission) becomes a
-- visit_detail of the top-level encounter's visit; a top-level encounter is a visit.
-- Encounter.class (v3 ActCode) → visit concept per the IG's EncounterClass ConceptMap,
-- plus ACUTE/NONAC (inpatient) and SS (short stay, outpatient); a target absent from the
-- loaded vocabulary maps to 0 rather than to a dangling id.
with recursive kept as (
    select *
    from {{ ref('stg_fhir__encounters') }}
    where coalesce(status, 'unknown') not in ('planned', 'cancelled')
        and patient_id is not null
        and coalesce(start_date, end_date) is not null
),

tree (encounter_id, root_id, depth) as (
    select encounter_id, encounter_id, 0
    from kept
    where parent_encounter_id is null
        or parent_encounter_id not in (select encounter_id from kept)
    union all
    select kept.encounter_id, tree.root_id, tree.depth + 1
    from kept
    inner join tree on kept.parent_encounter_id = tree.encounter_id
    where tree.depth < 10
),

class_map (class_code, visit_concept_id) as (
    values
        ('IMP', 9201), ('ACUTE', 9201), ('NONAC', 9201),
        ('AMB', 9202), ('SS', 9202),
        ('EMER', 9203),
        ('OBSENC', 262),
        ('HH', 581476),
        ('VR', 722455)
),

visit_concepts as (
    select class_map.class_code, concept.concept_id as visit_concept_id
    from class_map
    inner join {{ source('vocab', 'concept') }} as concept
        on class_map.visit_concept_id = concept.concept_id and concept.domain_id = 'Visit'
),

practitioners as (
    select * from {{ ref('stg_fhir__practitioners') }} where npi is not null
)

select
    kept.encounter_id,
    kept.patient_id,
    tree.root_id as root_encounter_id,
    'fhir:Encounter/' || tree.root_id as visit_key,
    case when tree.depth > 0 then 'fhir:Encounter/' || kept.encounter_id end as visit_detail_key,
    kept.class_code,
    coalesce(visit_concepts.visit_concept_id, 0) as visit_concept_id,
    coalesce(kept.start_date, kept.end_date) as start_date,
    greatest(coalesce(kept.end_date, kept.start_date), coalesce(kept.start_date, kept.end_date))
        as end_date,
    (
        select practitioners.npi
        from unnest(kept.participant_ids) with ordinality as listed (practitioner_id, position)
        inner join practitioners on listed.practitioner_id = practitioners.practitioner_id
        order by listed.position
        limit 1
    ) as provider_npi,
    'Organization/' || kept.service_provider_id as care_site_key,
    kept.admit_source_code,
    kept.discharge_disposition_code
from kept
inner join tree on kept.encounter_id = tree.encounter_id
left join visit_concepts on kept.class_code = visit_concepts.class_code
