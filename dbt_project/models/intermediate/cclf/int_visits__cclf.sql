-- One row per surviving CCLF claim that becomes a visit_occurrence (docs/cclf_mapping.md,
-- "Visits"): Part A claims, Part B and DME claims (lines grouped by current MBI and
-- claim id) outside inpatient stays, and Part D fills. Part B claims inside an inpatient
-- stay are visit_details instead (int_visit_details__cclf). Amounts are the final-action
-- versions' own (int_parta_claims__cclf explains why that equals the netted total).
with parta as (
    select
        claims.*,
        exists (
            select 1 from {{ ref('stg_cclf__parta_revenue_details') }} as revenue
            where revenue.cur_clm_uniq_id = claims.claim_id
                and revenue.clm_line_prod_rev_ctr_cd between '0450' and '0459'
        ) as has_emergency_revenue
    from {{ ref('int_parta_claims__cclf') }} as claims
),

partb_claims as (
    select
        current_mbi,
        claim_id,
        min(claim_type) as claim_type,
        min(line_start_date) as start_date,
        max(line_end_date) as end_date,
        min(place_of_service_code) as place_of_service_code,
        min(rendering_npi) as provider_npi,
        sum(paid) as paid,
        sum(allowed) as allowed
    from {{ ref('int_partb_lines__cclf') }}
    group by current_mbi, claim_id
),

dme_claims as (
    select
        current_mbi,
        claim_id,
        min(claim_type) as claim_type,
        min(line_start_date) as start_date,
        max(line_end_date) as end_date,
        min(place_of_service_code) as place_of_service_code,
        min(ordering_npi) as provider_npi,
        sum(paid) as paid,
        sum(allowed) as allowed
    from {{ ref('int_dme_lines__cclf') }}
    group by current_mbi, claim_id
),

rolled_up as (
    select visit_detail_key from {{ ref('int_visit_details__cclf') }}
)

select
    'cclf:A:' || claim_id as visit_key,
    current_mbi as person_key,
    case
        when claim_type in ('60', '61') then 9201
        when claim_type in ('20', '30') then 42898160
        when claim_type = '10' then 581476
        when claim_type = '50' then 8546
        when has_emergency_revenue then 9203
        else 9202
    end as visit_concept_id,
    claim_start_date as start_date,
    coalesce(claim_end_date, claim_start_date) as end_date,
    claim_id as visit_source_value,
    claim_type,
    attending_npi as provider_npi,
    billing_oscar_num as care_site_key,
    admission_source_code as admitted_from_source_value,
    discharge_status_code as discharged_to_source_value,
    paid as paid_by_payer,
    charge as total_charge,
    cast(null as numeric) as allowed,
    cast(null as numeric) as paid_by_patient,
    drg_code,
    32810 as visit_type_concept_id,
    cast(null as numeric) as copay,
    cast(null as numeric) as coinsurance,
    cast(null as numeric) as deductible
from parta

union all

select
    'cclf:B:' || partb_claims.current_mbi || ':' || partb_claims.claim_id,
    partb_claims.current_mbi,
    -- CMS place of service: 21 inpatient hospital, 23 emergency room (hospital).
    case partb_claims.place_of_service_code when '21' then 9201 when '23' then 9203 else 9202 end,
    partb_claims.start_date,
    partb_claims.end_date,
    partb_claims.claim_id,
    partb_claims.claim_type,
    partb_claims.provider_npi,
    null,
    null,
    null,
    partb_claims.paid,
    null,
    partb_claims.allowed,
    null,
    null,
    32810, null, null, null
from partb_claims
where 'cclf:B:' || partb_claims.current_mbi || ':' || partb_claims.claim_id
    not in (select visit_detail_key from rolled_up)

union all

select
    'cclf:DME:' || current_mbi || ':' || claim_id,
    current_mbi,
    9202,
    start_date,
    end_date,
    claim_id,
    claim_type,
    provider_npi,
    null,
    null,
    null,
    paid,
    null,
    allowed,
    null,
    null,
    32810, null, null, null
from dme_claims

union all

select
    'cclf:D:' || claim_id,
    current_mbi,
    581458,
    fill_date,
    fill_date,
    claim_id,
    '01',
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    patient_paid,
    null,
    32810, null, null, null
from {{ ref('int_partd_fills__cclf') }}
