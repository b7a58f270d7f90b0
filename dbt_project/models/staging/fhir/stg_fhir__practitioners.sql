-- One row per current Practitioner with the NPI it carries (Practitioner.identifier with
-- system http://hl7.org/fhir/sid/us-npi, US Core Practitioner), used for provider_id.
select
    resource_id as practitioner_id,
    jsonb_path_query_first(resource,
        '$.identifier[*] ? (@.system == "http://hl7.org/fhir/sid/us-npi").value') #>> '{}' as npi
from {{ ref('stg_fhir__resources') }}
where resource_type = 'Practitioner'
