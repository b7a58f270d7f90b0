-- One row per current Patient: demographics as FHIR R4 / US Core 3.1 carry them. Race and
-- ethnicity come from the US Core extensions (OMB categories, CDC Race & Ethnicity code
-- system urn:oid:2.16.840.1.113883.6.238) or, in CMS Blue Button / BCDA data, from the
-- BFD `race` extension (the RTI race code CCLF8 also carries).
select
    resource_id as patient_id,
    resource ->> 'gender' as gender,
    -- Patient.birthDate may be partial (YYYY or YYYY-MM): the first day stands in.
    {{ fhir_date("resource ->> 'birthDate'") }} as birth_date,
    {{ fhir_date("resource ->> 'deceasedDateTime'") }} as death_date,
    jsonb_path_query_array(resource,
        '$.extension[*] ? (@.url == "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race").extension[*] ? (@.url == "ombCategory").valueCoding.code'
    ) as race_codes,
    jsonb_path_query_array(resource,
        '$.extension[*] ? (@.url == "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity").extension[*] ? (@.url == "ombCategory").valueCoding.code'
    ) as ethnicity_codes,
    jsonb_path_query_first(resource,
        '$.extension[*] ? (@.url == "https://bluebutton.cms.gov/resources/variables/race").valueCoding.code'
    ) #>> '{}' as bfd_race_code,
    -- Patient.address: the current home address when marked, else the first listed.
    (
        select address
        from jsonb_path_query(resource, '$.address[*]') with ordinality as listed (address, position)
        order by (address ->> 'use' = 'home') desc nulls last,
            (address #>> '{period,end}') is null desc, position
        limit 1
    ) as address,
    resource -> 'identifier' as identifiers,
    -- A CMS Blue Button (BFD) / CARIN Blue Button Patient is the payer's enrollment
    -- record, not an EHR's: its profile or a bluebutton.cms.gov identifier says so.
    (resource @? '$.meta.profile[*] ? (@ starts with "http://hl7.org/fhir/us/carin-bb/")'
        or resource @? '$.identifier[*].system ? (@ starts with "https://bluebutton.cms.gov/")')
        as is_payer_record,
    as_of_date
from {{ ref('stg_fhir__resources') }}
where resource_type = 'Patient'
