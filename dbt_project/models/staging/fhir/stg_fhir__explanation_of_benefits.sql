-- One row per current ExplanationOfBenefit (FHIR R4; CARIN Blue Button C4BB profiles as
-- CMS BFD / BCDA serve them, and Synthea's). The claim type is read from three code
-- systems: BFD's nch_clm_type_cd (CCLF claim type codes), BFD's eob-type, and the FHIR
-- claim-type (institutional, professional, pharmacy, oral, vision). Repeating parts
-- (diagnosis, procedure, item, total, careTeam, supportingInfo) stay JSON for the
-- intermediate models.
select
    resource_id as eob_id,
    resource ->> 'status' as status,
    {{ fhir_reference_id('resource', 'patient') }} as patient_id,
    jsonb_path_query_first(resource, '$.type.coding[*] ? (@.system == "https://bluebutton.cms.gov/resources/variables/nch_clm_type_cd").code') #>> '{}'
        as nch_claim_type,
    jsonb_path_query_first(resource, '$.type.coding[*] ? (@.system == "https://bluebutton.cms.gov/resources/codesystem/eob-type").code') #>> '{}'
        as bfd_eob_type,
    jsonb_path_query_first(resource, '$.type.coding[*] ? (@.system == "http://terminology.hl7.org/CodeSystem/claim-type").code') #>> '{}'
        as claim_type,
    {{ fhir_code('resource', '$.subType') }} as claim_subtype,
    {{ fhir_period_start('resource', 'billablePeriod') }} as billable_start,
    {{ fhir_period_end('resource', 'billablePeriod') }} as billable_end,
    {{ fhir_number('resource', 'payment,amount,value') }} as payment_amount,
    coalesce(resource -> 'diagnosis', '[]'::jsonb) as diagnoses,
    coalesce(resource -> 'procedure', '[]'::jsonb) as procedures,
    coalesce(resource -> 'item', '[]'::jsonb) as items,
    coalesce(resource -> 'total', '[]'::jsonb) as totals,
    coalesce(resource -> 'adjudication', '[]'::jsonb) as adjudications,
    coalesce(resource -> 'benefitBalance', '[]'::jsonb) as benefit_balances,
    coalesce(resource -> 'careTeam', '[]'::jsonb) as care_team,
    coalesce(resource -> 'supportingInfo', '[]'::jsonb) as supporting_info,
    resource #>> '{facility,identifier,value}' as facility_identifier,
    as_of_date
from {{ ref('stg_fhir__resources') }}
where resource_type = 'ExplanationOfBenefit'
