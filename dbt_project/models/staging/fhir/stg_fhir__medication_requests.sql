-- One row per current MedicationRequest (FHIR R4): the prescription or order; authoredOn, dispenseRequest quantity and expected supply duration.
-- The drug is medicationCodeableConcept, or the code of the Medication that
-- medicationReference names: contained ("#id") here, a separate resource in the
-- intermediate model.
select
    resource_id as request_id,
    resource ->> 'status' as status,
    substring(coalesce(resource #>> '{subject,reference}', resource #>> '{patient,reference}')
        from '([^/:]+)(?:/_history/[^/]*)?$') as patient_id,
    substring(resource #>> '{encounter,reference}' from '([^/:]+)(?:/_history/[^/]*)?$')
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
    to_date(left(coalesce(resource ->> 'authoredOn',
        resource #>> '{dispenseRequest,validityPeriod,start}'), 10), 'YYYY-MM-DD') as start_date,
    cast(null as date) as end_date,
    case when jsonb_typeof(resource #> '{dispenseRequest,quantity,value}') = 'number'
        then cast(resource #>> '{dispenseRequest,quantity,value}' as numeric) end as quantity,
    -- expectedSupplyDuration is a Duration: only a count of days (UCUM d) is a days supply.
    case when jsonb_typeof(resource #> '{dispenseRequest,expectedSupplyDuration,value}') = 'number'
        and coalesce(resource #>> '{dispenseRequest,expectedSupplyDuration,code}',
            resource #>> '{dispenseRequest,expectedSupplyDuration,unit}') in ('d', 'day', 'days')
        then cast(round(cast(resource #>> '{dispenseRequest,expectedSupplyDuration,value}'
            as numeric)) as integer) end as days_supply,
    as_of_date
from {{ ref('stg_fhir__resources') }}
where resource_type = 'MedicationRequest'
