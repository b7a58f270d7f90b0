-- One row per current Coverage (FHIR R4; CARIN Blue Button C4BB-Coverage): beneficiary,
-- status, period, payor and plan (Coverage.class of type plan / group).
select
    resource_id as coverage_id,
    resource ->> 'status' as status,
    {{ fhir_reference_id('resource', 'beneficiary') }} as patient_id,
    {{ fhir_period_start('resource', 'period') }} as start_date,
    {{ fhir_period_end('resource', 'period') }} as end_date,
    coalesce(
        resource #>> '{payor,0,display}',
        resource #>> '{payor,0,identifier,value}',
        {{ fhir_reference_id('resource', 'payor,0') }}
    ) as payor,
    jsonb_path_query_first(resource,
        '$.class[*] ? (@.type.coding[*].code == "plan").value') #>> '{}' as plan_value,
    jsonb_path_query_first(resource,
        '$.class[*] ? (@.type.coding[*].code == "group").value') #>> '{}' as group_value,
    coalesce({{ fhir_code('resource', '$.type') }},
        resource #>> '{type,text}') as coverage_type,
    as_of_date
from {{ ref('stg_fhir__resources') }}
where resource_type = 'Coverage'
