-- One row per current Encounter (FHIR R4): class, period, subject, partOf, participants,
-- service provider and hospitalization codes. References keep only the target's id
-- (Patient/123, urn:uuid:123 and absolute URLs alike).
select
    resource_id as encounter_id,
    resource ->> 'status' as status,
    resource #>> '{class,code}' as class_code,
    {{ fhir_reference_id('resource', 'subject') }} as patient_id,
    {{ fhir_reference_id('resource', 'partOf') }} as parent_encounter_id,
    {{ fhir_period_start('resource', 'period') }} as start_date,
    {{ fhir_period_end('resource', 'period') }} as end_date,
    array(
        select {{ fhir_id("reference #>> '{}'") }}
        from jsonb_path_query(resource, '$.participant[*].individual.reference')
            with ordinality as listed (reference, position)
        order by position
    ) as participant_ids,
    {{ fhir_reference_id('resource', 'serviceProvider') }} as service_provider_id,
    {{ fhir_code('resource', '$.hospitalization.admitSource') }} as admit_source_code,
    {{ fhir_code('resource', '$.hospitalization.dischargeDisposition') }}
        as discharge_disposition_code,
    as_of_date
from {{ ref('stg_fhir__resources') }}
where resource_type = 'Encounter'
