-- One row per current Condition (FHIR R4): status codes, categories, code, dates.
select
    resource_id as condition_id,
    substring(resource #>> '{subject,reference}' from '([^/:]+)(?:/_history/[^/]*)?$')
        as patient_id,
    substring(resource #>> '{encounter,reference}' from '([^/:]+)(?:/_history/[^/]*)?$')
        as encounter_id,
    jsonb_path_query_first(resource, '$.clinicalStatus.coding[*].code') #>> '{}'
        as clinical_status,
    jsonb_path_query_first(resource, '$.verificationStatus.coding[*].code') #>> '{}'
        as verification_status,
    array(select jsonb_path_query(resource, '$.category[*].coding[*].code') #>> '{}')
        as categories,
    resource -> 'code' as code,
    to_date(left(coalesce(resource ->> 'onsetDateTime', resource #>> '{onsetPeriod,start}'),
        10), 'YYYY-MM-DD') as onset_date,
    to_date(left(resource ->> 'recordedDate', 10), 'YYYY-MM-DD') as recorded_date,
    to_date(left(coalesce(resource ->> 'abatementDateTime',
        resource #>> '{abatementPeriod,end}'), 10), 'YYYY-MM-DD') as abatement_date,
    as_of_date
from {{ ref('stg_fhir__resources') }}
where resource_type = 'Condition'
