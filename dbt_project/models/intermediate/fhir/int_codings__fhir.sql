{{ config(indexes=[{'columns': ['resource_type', 'resource_id', 'element', 'position']}]) }}
-- One row per coded element of a current resource (a CodeableConcept), with the one
-- coding chosen to stand for it. HL7 FHIR-to-OMOP IG, "CodeableConcept patterns": when
-- several codings are given, a coding that maps to a standard concept wins over one that
-- does not, a coding that is itself standard over one that only maps, then the preferred
-- vocabulary (int_code_systems__fhir), then userSelected, then the order given. A
-- CodeableConcept with text only keeps its text as the source value (concept 0), and
-- ICD-9-CM in a procedure position is ICD-9 procedure coding (ICD9Proc).
with observations as (
    select * from {{ ref('stg_fhir__observations') }}
),

components as (
    select observations.observation_id, listed.component, listed.position
    from observations,
        jsonb_path_query(observations.components, '$[*]')
            with ordinality as listed (component, position)
),

medications as (
    select * from {{ ref('stg_fhir__medications') }}
),

drug_events as (
    select 'MedicationRequest' as resource_type, request_id as resource_id,
        medication_concept, medication_id
    from {{ ref('stg_fhir__medication_requests') }}
    union all
    select 'MedicationStatement', statement_id, medication_concept, medication_id
    from {{ ref('stg_fhir__medication_statements') }}
    union all
    select 'MedicationAdministration', administration_id, medication_concept, medication_id
    from {{ ref('stg_fhir__medication_administrations') }}
    union all
    select 'MedicationDispense', dispense_id, medication_concept, medication_id
    from {{ ref('stg_fhir__medication_dispenses') }}
),

claims as (
    select * from {{ ref('stg_fhir__explanation_of_benefits') }}
),

concepts as (
    select 'Condition' as resource_type, condition_id as resource_id, 'code' as element,
        cast(0 as bigint) as position, code as concept
    from {{ ref('stg_fhir__conditions') }}
    union all
    select 'Observation', observation_id, 'code', 0, code from observations
    union all
    select 'Observation', observation_id, 'value', 0, value_concept
    from observations where value_concept is not null
    union all
    select 'Observation', observation_id, 'component', position, component -> 'code'
    from components
    union all
    select 'Observation', observation_id, 'component_value', position,
        component -> 'valueCodeableConcept'
    from components where component ? 'valueCodeableConcept'
    union all
    -- medicationReference to a Medication resource: that Medication's code.
    select drug_events.resource_type, drug_events.resource_id, 'medication', 0,
        coalesce(drug_events.medication_concept, medications.code)
    from drug_events
    left join medications on drug_events.medication_id = medications.medication_id
    union all
    select 'Immunization', immunization_id, 'vaccine', 0, vaccine_code
    from {{ ref('stg_fhir__immunizations') }}
    union all
    select 'Procedure', procedure_id, 'code', 0, code from {{ ref('stg_fhir__procedures') }}
    union all
    select 'AllergyIntolerance', allergy_id, 'code', 0, code
    from {{ ref('stg_fhir__allergy_intolerances') }}
    union all
    select 'DiagnosticReport', report_id, 'code', 0, code
    from {{ ref('stg_fhir__diagnostic_reports') }}
    union all
    select 'ExplanationOfBenefit', claims.eob_id, 'diagnosis', listed.position,
        listed.entry -> 'diagnosisCodeableConcept'
    from claims, jsonb_path_query(claims.diagnoses, '$[*]') with ordinality as listed (entry, position)
    where listed.entry ? 'diagnosisCodeableConcept'
    union all
    select 'ExplanationOfBenefit', claims.eob_id, 'procedure', listed.position,
        listed.entry -> 'procedureCodeableConcept'
    from claims, jsonb_path_query(claims.procedures, '$[*]') with ordinality as listed (entry, position)
    where listed.entry ? 'procedureCodeableConcept'
    union all
    select 'ExplanationOfBenefit', claims.eob_id, 'item', listed.position,
        listed.entry -> 'productOrService'
    from claims, jsonb_path_query(claims.items, '$[*]') with ordinality as listed (entry, position)
    where listed.entry ? 'productOrService'
),

codings as (
    select
        concepts.resource_type,
        concepts.resource_id,
        concepts.element,
        concepts.position,
        listed.coding,
        listed.coding_position,
        case
            when systems.code_system = 'ICD9CM' and concepts.element = 'procedure' then 'ICD9Proc'
            else coalesce(systems.code_system, listed.coding ->> 'system')
        end as code_system,
        listed.coding ->> 'code' as code,
        coalesce(systems.preference, 9) as preference
    from concepts
    cross join lateral jsonb_path_query(concepts.concept, '$.coding[*]')
        with ordinality as listed (coding, coding_position)
    left join {{ ref('int_code_systems__fhir') }} as systems
        on listed.coding ->> 'system' = systems.fhir_system
    where listed.coding ->> 'code' is not null
),

scored as (
    select
        codings.*,
        exists (
            select 1 from {{ ref('int_code_map') }} as code_map
            where code_map.code_system = codings.code_system
                and code_map.lookup_code = upper(replace(codings.code, '.', ''))
                and code_map.standard_concept_id is not null
        ) as maps_to_standard,
        exists (
            select 1 from {{ ref('int_code_map') }} as code_map
            where code_map.code_system = codings.code_system
                and code_map.lookup_code = upper(replace(codings.code, '.', ''))
                and code_map.source_concept_id = code_map.standard_concept_id
        ) as is_standard
    from codings
),

ranked as (
    select
        scored.*,
        row_number() over (
            partition by resource_type, resource_id, element, position
            order by maps_to_standard desc, is_standard desc, preference,
                coalesce(coding -> 'userSelected' = 'true'::jsonb, false) desc, coding_position
        ) as rank
    from scored
)

select
    concepts.resource_type,
    concepts.resource_id,
    concepts.element,
    concepts.position,
    coalesce(ranked.code_system, 'text') as code_system,
    coalesce(ranked.code, left(concepts.concept ->> 'text', 50)) as source_code,
    coalesce(concepts.concept ->> 'text', ranked.coding ->> 'display') as concept_text
from concepts
left join ranked
    on concepts.resource_type = ranked.resource_type
    and concepts.resource_id = ranked.resource_id
    and concepts.element = ranked.element
    and concepts.position = ranked.position
    and ranked.rank = 1
