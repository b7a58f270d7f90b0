-- One row per current Procedure (FHIR R4): status, code, performed[x].
select
    resource_id as procedure_id,
    resource ->> 'status' as status,
    substring(resource #>> '{subject,reference}' from '([^/:]+)(?:/_history/[^/]*)?$')
        as patient_id,
    substring(resource #>> '{encounter,reference}' from '([^/:]+)(?:/_history/[^/]*)?$')
        as encounter_id,
    resource -> 'code' as code,
    to_date(left(coalesce(resource ->> 'performedDateTime', resource #>> '{performedPeriod,start}'),
        10), 'YYYY-MM-DD') as start_date,
    to_date(left(resource #>> '{performedPeriod,end}', 10), 'YYYY-MM-DD') as end_date,
    as_of_date
from {{ ref('stg_fhir__resources') }}
where resource_type = 'Procedure'
