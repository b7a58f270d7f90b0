-- One row per current AllergyIntolerance (FHIR R4): statuses, code, onset or recorded date.
select
    resource_id as allergy_id,
    substring(resource #>> '{patient,reference}' from '([^/:]+)(?:/_history/[^/]*)?$')
        as patient_id,
    substring(resource #>> '{encounter,reference}' from '([^/:]+)(?:/_history/[^/]*)?$')
        as encounter_id,
    jsonb_path_query_first(resource, '$.clinicalStatus.coding[*].code') #>> '{}'
        as clinical_status,
    jsonb_path_query_first(resource, '$.verificationStatus.coding[*].code') #>> '{}'
        as verification_status,
    resource -> 'code' as code,
    to_date(left(coalesce(resource ->> 'onsetDateTime', resource #>> '{onsetPeriod,start}',
        resource ->> 'recordedDate'), 10), 'YYYY-MM-DD') as start_date,
    as_of_date
from {{ ref('stg_fhir__resources') }}
where resource_type = 'AllergyIntolerance'
