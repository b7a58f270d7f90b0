-- One row per coded fact of a claim that is a visit of its own (an ExplanationOfBenefit
-- not linked to an EHR encounter: CMS BFD/BCDA, payer data). Claims linked to an
-- encounter add cost only; the EHR resources of that encounter carry its facts.
-- * diagnosis[].diagnosisCodeableConcept → Condition by default, one row per claim and
--   code; the position decides condition_status_concept_id: principal 32902, admitting
--   32890, other 32908 (as for CCLF claims).
-- * procedure[].procedureCodeableConcept → Procedure, on procedure.date.
-- * item[].productOrService → Procedure (HCPCS/CPT), Drug (NDC, with quantity and the
--   claim's days supply) or, on DME claims (BFD claim type 81/82), Device; on the
--   item's service date with its first modifier.
-- Type 32810 (Claim).
with claims as (
    select * from {{ ref('int_claims__fhir') }} where linked_visit_key is null
),

eobs as (
    select * from {{ ref('stg_fhir__explanation_of_benefits') }}
),

diagnoses as (
    select distinct on (claims.eob_id, codings.code_system, codings.source_code)
        claims.eob_id,
        codings.code_system,
        codings.source_code,
        case
            when listed.entry @? '$.type[*].coding[*] ? (@.code == "principal")' then 32902
            when listed.entry @? '$.type[*].coding[*] ? (@.code == "admitting")' then 32890
            else 32908
        end as status_concept_id
    from claims
    inner join eobs on claims.eob_id = eobs.eob_id
    cross join lateral jsonb_path_query(eobs.diagnoses, '$[*]')
        with ordinality as listed (entry, position)
    inner join {{ ref('int_codings__fhir') }} as codings
        on codings.resource_type = 'ExplanationOfBenefit'
        and codings.resource_id = claims.eob_id
        and codings.element = 'diagnosis'
        and codings.position = listed.position
    order by claims.eob_id, codings.code_system, codings.source_code,
        case when listed.entry @? '$.type[*].coding[*] ? (@.code == "principal")' then 1
            when listed.entry @? '$.type[*].coding[*] ? (@.code == "admitting")' then 2
            else 3 end
),

procedures as (
    select
        claims.eob_id,
        codings.code_system,
        codings.source_code,
        {{ fhir_date("listed.entry ->> 'date'") }} as procedure_date
    from claims
    inner join eobs on claims.eob_id = eobs.eob_id
    cross join lateral jsonb_path_query(eobs.procedures, '$[*]')
        with ordinality as listed (entry, position)
    inner join {{ ref('int_codings__fhir') }} as codings
        on codings.resource_type = 'ExplanationOfBenefit'
        and codings.resource_id = claims.eob_id
        and codings.element = 'procedure'
        and codings.position = listed.position
),

items as (
    select
        claims.eob_id,
        codings.code_system,
        codings.source_code,
        {{ fhir_serviced_start('listed.entry') }} as service_start,
        {{ fhir_serviced_end('listed.entry') }} as service_end,
        {{ fhir_code('listed.entry', '$.modifier[*]') }} as modifier,
        {{ fhir_number('listed.entry', 'quantity,value') }} as quantity
    from claims
    inner join eobs on claims.eob_id = eobs.eob_id
    cross join lateral jsonb_path_query(eobs.items, '$[*]')
        with ordinality as listed (entry, position)
    inner join {{ ref('int_codings__fhir') }} as codings
        on codings.resource_type = 'ExplanationOfBenefit'
        and codings.resource_id = claims.eob_id
        and codings.element = 'item'
        and codings.position = listed.position
    where codings.code_system <> 'text'
)

select
    'ExplanationOfBenefit/' || claims.eob_id as record_key,
    claims.claim_key as visit_key,
    cast(null as text) as visit_detail_key,
    claims.patient_id as person_key,
    diagnoses.code_system,
    diagnoses.source_code,
    'Condition' as default_domain,
    claims.start_date,
    claims.end_date,
    diagnoses.status_concept_id as condition_status_concept_id,
    cast(null as text) as modifier,
    cast(null as numeric) as quantity,
    cast(null as integer) as days_supply,
    claims.provider_npi
from diagnoses
inner join claims on diagnoses.eob_id = claims.eob_id

union all

select
    'ExplanationOfBenefit/' || claims.eob_id,
    claims.claim_key,
    null,
    claims.patient_id,
    procedures.code_system,
    procedures.source_code,
    'Procedure',
    coalesce(procedures.procedure_date, claims.start_date),
    coalesce(procedures.procedure_date, claims.start_date),
    null,
    null,
    null,
    null,
    claims.provider_npi
from procedures
inner join claims on procedures.eob_id = claims.eob_id

union all

select
    'ExplanationOfBenefit/' || claims.eob_id,
    claims.claim_key,
    null,
    claims.patient_id,
    items.code_system,
    items.source_code,
    case
        when items.code_system = 'NDC' then 'Drug'
        when claims.claim_type in ('81', '82') then 'Device'
        else 'Procedure'
    end,
    coalesce(items.service_start, claims.start_date),
    greatest(coalesce(items.service_end, items.service_start, claims.start_date),
        coalesce(items.service_start, claims.start_date)),
    null,
    items.modifier,
    items.quantity,
    case when items.code_system = 'NDC' then claims.days_supply end,
    claims.provider_npi
from items
inner join claims on items.eob_id = claims.eob_id
