-- One row per current Coverage (FHIR R4; CARIN Blue Button C4BB-Coverage): beneficiary,
-- status, period, payor and plan (Coverage.class of type plan / group).
select
    resource_id as coverage_id,
    resource ->> 'status' as status,
    substring(resource #>> '{beneficiary,reference}' from '([^/:]+)(?:/_history/[^/]*)?$')
        as patient_id,
    to_date(left(resource #>> '{period,start}', 10), 'YYYY-MM-DD') as start_date,
    to_date(left(resource #>> '{period,end}', 10), 'YYYY-MM-DD') as end_date,
    coalesce(
        resource #>> '{payor,0,display}',
        resource #>> '{payor,0,identifier,value}',
        substring(resource #>> '{payor,0,reference}' from '([^/:]+)(?:/_history/[^/]*)?$')
    ) as payor,
    jsonb_path_query_first(resource,
        '$.class[*] ? (@.type.coding[*].code == "plan").value') #>> '{}' as plan_value,
    jsonb_path_query_first(resource,
        '$.class[*] ? (@.type.coding[*].code == "group").value') #>> '{}' as group_value,
    coalesce(jsonb_path_query_first(resource, '$.type.coding[*].code') #>> '{}',
        resource #>> '{type,text}') as coverage_type,
    as_of_date
from {{ ref('stg_fhir__resources') }}
where resource_type = 'Coverage'
