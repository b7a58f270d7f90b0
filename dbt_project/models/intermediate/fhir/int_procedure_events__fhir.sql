-- One row per Procedure that was done (HL7 FHIR-to-OMOP IG, Procedure →
-- procedure_occurrence; status preparation and not-done yield nothing) and per
-- AllergyIntolerance that is not refuted (→ observation by default: an allergy is a
-- clinical observation about the person; a code whose standard concept lies in another
-- domain goes there, as for every source). Type 32817 (EHR).
with procedures as (
    select
        'Procedure' as resource_type, procedure_id as resource_id, patient_id, encounter_id,
        start_date, end_date, as_of_date, 'Procedure' as default_domain
    from {{ ref('stg_fhir__procedures') }}
    where coalesce(status, 'completed') not in ('preparation', 'not-done')
    union all
    select
        'AllergyIntolerance', allergy_id, patient_id, encounter_id, start_date, null,
        as_of_date, 'Observation'
    from {{ ref('stg_fhir__allergy_intolerances') }}
    where coalesce(verification_status, 'confirmed') <> 'refuted'
)

select
    procedures.resource_type || '/' || procedures.resource_id as record_key,
    encounters.visit_key,
    encounters.visit_detail_key,
    procedures.patient_id as person_key,
    codings.code_system,
    codings.source_code,
    procedures.default_domain,
    coalesce(procedures.start_date, encounters.start_date, procedures.as_of_date) as start_date,
    case when procedures.end_date >= procedures.start_date then procedures.end_date end
        as end_date,
    32817 as type_concept_id
from procedures
inner join {{ ref('int_codings__fhir') }} as codings
    on codings.resource_type = procedures.resource_type
    and codings.resource_id = procedures.resource_id
    and codings.element = 'code'
left join {{ ref('int_encounters__fhir') }} as encounters
    on procedures.encounter_id = encounters.encounter_id
where procedures.patient_id is not null
