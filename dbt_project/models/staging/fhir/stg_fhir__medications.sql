-- One row per current Medication resource: the code a medicationReference points to.
select
    resource_id as medication_id,
    resource -> 'code' as code
from {{ ref('stg_fhir__resources') }}
where resource_type = 'Medication'
