-- One row per current MedicationStatement (FHIR R4): what the patient reports taking; effective[x].
-- The drug is medicationCodeableConcept, or the code of the Medication that
-- medicationReference names: contained ("#id") here, a separate resource in the
-- intermediate model.
select
    resource_id as statement_id,
    resource ->> 'status' as status,
    substring(coalesce(resource #>> '{subject,reference}', resource #>> '{patient,reference}')
        from '([^/:]+)(?:/_history/[^/]*)?$') as patient_id,
    substring(resource #>> '{context,reference}' from '([^/:]+)(?:/_history/[^/]*)?$')
        as encounter_id,
    coalesce(
        resource -> 'medicationCodeableConcept',
        jsonb_path_query_first(resource,
            '$.contained[*] ? (@.resourceType == "Medication" && @.id == $id).code',
            jsonb_build_object('id', ltrim(resource #>> '{medicationReference,reference}', '#')))
    ) as medication_concept,
    case when resource #>> '{medicationReference,reference}' not like '#%' then
        substring(resource #>> '{medicationReference,reference}'
            from '([^/:]+)(?:/_history/[^/]*)?$')
    end as medication_id,
    to_date(left(coalesce(resource ->> 'effectiveDateTime', resource #>> '{effectivePeriod,start}',
        resource ->> 'dateAsserted'), 10), 'YYYY-MM-DD') as start_date,
    to_date(left(resource #>> '{effectivePeriod,end}', 10), 'YYYY-MM-DD') as end_date,
    cast(null as numeric) as quantity,
    cast(null as integer) as days_supply,
    as_of_date
from {{ ref('stg_fhir__resources') }}
where resource_type = 'MedicationStatement'
