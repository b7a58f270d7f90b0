-- One row per coded clinical event of a surviving 837 claim, before vocabulary mapping
-- (docs/x12_mapping.md, "Events"): diagnoses and ICD procedures of the claim's HI
-- segments, HCPCS/CPT codes of its service lines (SV101 / SV202, qualifier HC) and the
-- NDC drugs of loop 2410 (LIN*N4). The standard concept's domain decides the OMOP table;
-- default_domain is where an unmapped code goes. Type concept 32810 (Claim).
with claims as (
    select * from {{ ref('int_claims__x12') }}
    where start_date is not null
),

codes as (
    select codes.*, claims.claim_key
    from {{ ref('stg_x12__claim_codes') }} as codes
    inner join claims
        on codes.load_id = claims.load_id and codes.claim_position = claims.claim_position
),

diagnoses as (
    -- One row per claim and code; the principal position wins over admitting over the
    -- others when a code is sent in several (HI qualifiers ABK/BK, ABJ/BJ, ...).
    select distinct on (claim_key, code)
        claim_key, code, code_system,
        case code_role
            when 'principal_diagnosis' then 32902
            when 'admitting_diagnosis' then 32890
            else 32908
        end as status_concept_id
    from codes
    where code_role in ('principal_diagnosis', 'admitting_diagnosis', 'reason_for_visit',
                        'external_cause', 'other_diagnosis')
        and code is not null
    order by claim_key, code,
        case code_role when 'principal_diagnosis' then 1 when 'admitting_diagnosis' then 2
                       else 3 end
),

lines as (
    select lines.*, claims.claim_key, claims.person_key, claims.start_date as claim_start,
        claims.end_date as claim_end, claims.visit_provider_npi
    from {{ ref('stg_x12__service_lines') }} as lines
    inner join claims
        on lines.load_id = claims.load_id and lines.claim_position = claims.claim_position
)

select
    'x12:' || claims.claim_key as visit_key,
    cast(null as text) as visit_detail_key,
    claims.person_key,
    diagnoses.code_system,
    diagnoses.code as source_code,
    'Condition' as default_domain,
    claims.start_date,
    claims.end_date,
    diagnoses.status_concept_id as condition_status_concept_id,
    cast(null as text) as modifier,
    cast(null as numeric) as quantity,
    cast(null as integer) as days_supply,
    claims.visit_provider_npi as provider_npi,
    32810 as type_concept_id,
    cast(null as numeric) as value_as_number,
    cast(null as integer) as value_as_concept_id,
    cast(null as text) as value_as_string,
    cast(null as integer) as unit_concept_id,
    cast(null as text) as unit_source_value,
    cast(null as numeric) as range_low,
    cast(null as numeric) as range_high
from diagnoses
inner join claims on diagnoses.claim_key = claims.claim_key

union all

-- ICD-10-PCS / ICD-9 procedure codes (HI BBR/BBQ, BR/BQ) on their date, else the claim's;
-- the operating physician (837I 2310B) performed them when one is named.
select
    'x12:' || claims.claim_key, null, claims.person_key, codes.code_system, codes.code,
    'Procedure', coalesce(codes.code_date, claims.start_date),
    coalesce(codes.code_date, claims.start_date), null, null, null, null,
    coalesce(claims.operating_provider_npi, claims.visit_provider_npi),
    32810, null, null, null, null, null, null, null
from codes
inner join claims on codes.claim_key = claims.claim_key
where codes.code_role in ('principal_procedure', 'other_procedure')
    and codes.code_system in ('ICD10PCS', 'ICD9Proc')
    and codes.code is not null

union all

-- Service line procedures: HCPCS level II and CPT codes (product qualifier HC).
select
    'x12:' || lines.claim_key, null, lines.person_key, 'HCPCS', lines.procedure_code,
    'Procedure', coalesce(lines.service_from, lines.claim_start),
    coalesce(lines.service_to, lines.service_from, lines.claim_end), null, lines.modifier_1,
    lines.units, null, coalesce(lines.rendering_provider_npi, lines.visit_provider_npi),
    32810, null, null, null, null, null, null, null
from lines
where lines.product_qualifier = 'HC' and lines.procedure_code is not null

union all

-- Drugs given with a service line (loop 2410, LIN02 = N4: an 11-digit NDC) and their
-- quantity (CTP04).
select
    'x12:' || lines.claim_key, null, lines.person_key, 'NDC', lines.ndc, 'Drug',
    coalesce(lines.service_from, lines.claim_start),
    coalesce(lines.service_to, lines.service_from, lines.claim_end), null, null,
    lines.drug_quantity, null, coalesce(lines.rendering_provider_npi, lines.visit_provider_npi),
    32810, null, null, null, null, null, null, null
from lines
where lines.ndc_qualifier = 'N4' and lines.ndc is not null
