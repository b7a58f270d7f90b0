-- One row per current DiagnosticReport (FHIR R4): code, date, and the Observations it
-- lists as results (DiagnosticReport.result).
select
    resource_id as report_id,
    resource ->> 'status' as status,
    substring(resource #>> '{subject,reference}' from '([^/:]+)(?:/_history/[^/]*)?$')
        as patient_id,
    substring(resource #>> '{encounter,reference}' from '([^/:]+)(?:/_history/[^/]*)?$')
        as encounter_id,
    array(select jsonb_path_query(resource, '$.category[*].coding[*].code') #>> '{}')
        as categories,
    resource -> 'code' as code,
    to_date(left(coalesce(resource ->> 'effectiveDateTime', resource #>> '{effectivePeriod,start}',
        resource ->> 'issued'), 10), 'YYYY-MM-DD') as effective_date,
    array(
        select substring(reference #>> '{}' from '([^/:]+)(?:/_history/[^/]*)?$')
        from jsonb_path_query(resource, '$.result[*].reference') as listed (reference)
    ) as result_ids,
    resource ->> 'conclusion' as conclusion,
    as_of_date
from {{ ref('stg_fhir__resources') }}
where resource_type = 'DiagnosticReport'
