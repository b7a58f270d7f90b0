-- One row per coded clinical fact of the FHIR source, before vocabulary mapping, in the
-- shape docs/adding_a_source.md gives for int_events__<source>: conditions, observation
-- values and reports, drugs and immunizations, procedures and allergies, and the codes
-- of claims that are visits of their own. Each part's rules are in its own model.
with conditions as (
    select * from {{ ref('int_condition_events__fhir') }}
),

measurements as (
    select * from {{ ref('int_measurement_events__fhir') }}
),

drugs as (
    select * from {{ ref('int_drug_events__fhir') }}
),

procedures as (
    select * from {{ ref('int_procedure_events__fhir') }}
),

claims as (
    select * from {{ ref('int_claim_events__fhir') }}
)

select
    visit_key, visit_detail_key, person_key, code_system, source_code, default_domain,
    start_date, end_date, condition_status_concept_id,
    cast(null as text) as modifier,
    cast(null as numeric) as quantity,
    cast(null as integer) as days_supply,
    cast(null as text) as provider_npi,
    type_concept_id,
    cast(null as numeric) as value_as_number,
    cast(null as integer) as value_as_concept_id,
    cast(null as text) as value_as_string,
    cast(null as integer) as unit_concept_id,
    cast(null as text) as unit_source_value,
    cast(null as numeric) as range_low,
    cast(null as numeric) as range_high
from conditions

union all

select
    visit_key, visit_detail_key, person_key, code_system, source_code, default_domain,
    start_date, end_date, null, null, null, null, null,
    32817,
    value_as_number, value_as_concept_id, value_as_string, unit_concept_id, unit_source_value,
    range_low, range_high
from measurements

union all

select
    visit_key, visit_detail_key, person_key, code_system, source_code, default_domain,
    start_date, end_date, null, null, quantity, days_supply, null,
    type_concept_id,
    null, null, null, null, null, null, null
from drugs

union all

select
    visit_key, visit_detail_key, person_key, code_system, source_code, default_domain,
    start_date, end_date, null, null, null, null, null,
    type_concept_id,
    null, null, null, null, null, null, null
from procedures

union all

select
    visit_key, visit_detail_key, person_key, code_system, source_code, default_domain,
    start_date, end_date, condition_status_concept_id, modifier, quantity, days_supply,
    provider_npi,
    32810,
    null, null, null, null, null, null, null
from claims
