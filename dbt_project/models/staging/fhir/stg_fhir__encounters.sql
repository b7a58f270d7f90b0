-- One row per current Encounter (FHIR R4): class, period, subject, partOf, participants,
-- service provider and hospitalization codes. References keep only the target's id
-- (Patient/123, urn:uuid:123 and absolute URLs alike).
select
    resource_id as encounter_id,
    resource ->> 'status' as status,
    resource #>> '{class,code}' as class_code,
    substring(resource #>> '{subject,reference}' from '([^/:]+)(?:/_history/[^/]*)?$')
        as patient_id,
    substring(resource #>> '{partOf,reference}' from '([^/:]+)(?:/_history/[^/]*)?$')
        as parent_encounter_id,
    to_date(left(resource #>> '{period,start}', 10), 'YYYY-MM-DD') as start_date,
    to_date(left(resource #>> '{period,end}', 10), 'YYYY-MM-DD') as end_date,
    array(
        select substring(reference #>> '{}' from '([^/:]+)(?:/_history/[^/]*)?$')
        from jsonb_path_query(resource, '$.participant[*].individual.reference')
            with ordinality as listed (reference, position)
        order by position
    ) as participant_ids,
    substring(resource #>> '{serviceProvider,reference}' from '([^/:]+)(?:/_history/[^/]*)?$')
        as service_provider_id,
    jsonb_path_query_first(resource, '$.hospitalization.admitSource.coding[*].code') #>> '{}'
        as admit_source_code,
    jsonb_path_query_first(resource, '$.hospitalization.dischargeDisposition.coding[*].code')
        #>> '{}' as discharge_disposition_code,
    as_of_date
from {{ ref('stg_fhir__resources') }}
where resource_type = 'Encounter'
