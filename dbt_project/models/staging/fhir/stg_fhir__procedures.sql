-- One row per current Procedure (FHIR R4): status, code, performed[x].
select
    resource_id as procedure_id,
    resource ->> 'status' as status,
    {{ fhir_reference_id('resource', 'subject') }} as patient_id,
    {{ fhir_reference_id('resource', 'encounter') }} as encounter_id,
    resource -> 'code' as code,
    {{ fhir_choice_start('resource', 'performed') }} as start_date,
    {{ fhir_period_end('resource', 'performedPeriod') }} as end_date,
    as_of_date
from {{ ref('stg_fhir__resources') }}
where resource_type = 'Procedure'
