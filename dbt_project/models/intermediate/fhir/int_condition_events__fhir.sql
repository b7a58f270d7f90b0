-- One row per Condition that is a condition fact (HL7 FHIR-to-OMOP IG, Condition →
-- condition_occurrence): verificationStatus refuted, entered-in-error, unconfirmed,
-- provisional or differential is not a fact and yields nothing; confirmed or absent is.
-- * start: onset[x], else recordedDate, else the encounter's start, else the date the
--   source stood at (export transactionTime); end: abatement[x].
-- * condition_status_concept_id: clinicalStatus resolved/inactive/remission → 32906
--   (Resolved condition); else verificationStatus confirmed → 32893 (Confirmed diagnosis).
-- * type: category problem-list-item → 32840 (EHR problem list), encounter-diagnosis →
--   32827 (EHR encounter record), else 32817 (EHR).
with conditions as (
    select *
    from {{ ref('stg_fhir__conditions') }}
    where coalesce(verification_status, 'confirmed')
        not in ('refuted', 'entered-in-error', 'unconfirmed', 'provisional', 'differential')
)

select
    'Condition/' || conditions.condition_id as record_key,
    encounters.visit_key,
    encounters.visit_detail_key,
    conditions.patient_id as person_key,
    codings.code_system,
    codings.source_code,
    'Condition' as default_domain,
    coalesce(conditions.onset_date, conditions.recorded_date, encounters.start_date,
        conditions.as_of_date) as start_date,
    case when conditions.abatement_date >= coalesce(conditions.onset_date,
        conditions.recorded_date, encounters.start_date, conditions.as_of_date)
        then conditions.abatement_date end as end_date,
    case
        when conditions.clinical_status in ('resolved', 'inactive', 'remission') then 32906
        when conditions.verification_status = 'confirmed' then 32893
    end as condition_status_concept_id,
    case
        when 'problem-list-item' = any(conditions.categories) then 32840
        when 'encounter-diagnosis' = any(conditions.categories) then 32827
        else 32817
    end as type_concept_id
from conditions
inner join {{ ref('int_codings__fhir') }} as codings
    on codings.resource_type = 'Condition' and codings.resource_id = conditions.condition_id
    and codings.element = 'code'
left join {{ ref('int_encounters__fhir') }} as encounters
    on conditions.encounter_id = encounters.encounter_id
where conditions.patient_id is not null
