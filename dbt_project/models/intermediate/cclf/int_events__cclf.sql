-- One row per coded clinical event of a surviving CCLF claim, before vocabulary mapping:
-- diagnoses (CCLF1 principal/admitting, CCLF4, CCLF5 line and claim positions),
-- procedures (CCLF3 ICD, CCLF2 and CCLF5 HCPCS/CPT), drugs (CCLF7 NDC) and devices
-- (CCLF6 HCPCS). default_domain says where the event goes when its code maps to nothing;
-- otherwise its standard concept's domain decides (OMOP convention).
with parta as (
    select * from {{ ref('int_parta_claims__cclf') }}
),

partb as (
    select lines.*, coalesce(details.visit_key, 'cclf:B:' || lines.current_mbi || ':'
        || lines.claim_id) as visit_key, details.visit_detail_key
    from {{ ref('int_partb_lines__cclf') }} as lines
    left join {{ ref('int_visit_details__cclf') }} as details
        on details.visit_detail_key = 'cclf:B:' || lines.current_mbi || ':' || lines.claim_id
),

-- A CCLF2/CCLF3 record delivered more than once (regular and run-out files, or a later
-- month repeating the claim with a changed non-key field) counts once: the copy from the
-- newest delivery, as for the headers (int_parta_claims__cclf).
revenue_lines as (
    select distinct on (revenue.cur_clm_uniq_id, revenue.clm_line_num) revenue.*
    from {{ ref('stg_cclf__parta_revenue_details') }} as revenue
    order by revenue.cur_clm_uniq_id, revenue.clm_line_num, revenue.delivery_date desc,
        revenue.load_id desc, revenue.line_number desc
),

procedure_codes as (
    select distinct on (procedures.cur_clm_uniq_id, procedures.clm_val_sqnc_num)
        procedures.*
    from {{ ref('stg_cclf__parta_procedures') }} as procedures
    order by procedures.cur_clm_uniq_id, procedures.clm_val_sqnc_num,
        procedures.delivery_date desc, procedures.load_id desc, procedures.line_number desc
),

icd as (
    select '0' as indicator, 'ICD10CM' as diagnosis_system, 'ICD10PCS' as procedure_system
    union all
    select '9', 'ICD9CM', 'ICD9Proc'
),

parta_diagnoses as (
    -- Header positions (CCLF1) and every CCLF4 position; principal wins over admitting
    -- over secondary when one code appears in several positions of a claim.
    select claim_id, principal_diagnosis_code as code, 32902 as status_concept_id
    from parta where principal_diagnosis_code is not null
    union all
    select claim_id, admitting_diagnosis_code, 32890
    from parta where admitting_diagnosis_code is not null
    union all
    select diagnoses.cur_clm_uniq_id, diagnoses.clm_dgns_cd, 32908
    from {{ ref('stg_cclf__parta_diagnoses') }} as diagnoses
    inner join parta on diagnoses.cur_clm_uniq_id = parta.claim_id
    where diagnoses.clm_dgns_cd is not null
),

parta_diagnoses_ranked as (
    select distinct on (claim_id, code) claim_id, code, status_concept_id
    from parta_diagnoses
    order by claim_id, code,
        case status_concept_id when 32902 then 1 when 32890 then 2 else 3 end
),

partb_diagnoses as (
    -- Deduplicated per Part B claim and code (a claim rolled up into a stay keeps its own).
    select distinct on (current_mbi, claim_id, code)
        visit_key, visit_detail_key, current_mbi, code, start_date, end_date, provider_npi,
        case when is_line then 32902 else 32908 end as status_concept_id
    from (
        select visit_key, visit_detail_key, current_mbi, claim_id, line_diagnosis_code as code,
            line_start_date as start_date, line_end_date as end_date,
            rendering_npi as provider_npi, true as is_line
        from partb where line_diagnosis_code is not null
        union all
        select visit_key, visit_detail_key, current_mbi, claim_id, unnest(claim_diagnosis_codes),
            line_start_date, line_end_date, rendering_npi, false
        from partb
    ) as positions
    where code is not null
    order by current_mbi, claim_id, code, is_line desc, start_date
)

select
    'cclf:A:' || parta.claim_id as visit_key,
    cast(null as text) as visit_detail_key,
    parta.current_mbi as person_key,
    coalesce(icd.diagnosis_system, 'ICD10CM') as code_system,
    ranked.code as source_code,
    'Condition' as default_domain,
    parta.claim_start_date as start_date,
    parta.claim_end_date as end_date,
    ranked.status_concept_id as condition_status_concept_id,
    cast(null as text) as modifier,
    cast(null as numeric) as quantity,
    cast(null as integer) as days_supply,
    parta.attending_npi as provider_npi,
    32810 as type_concept_id,
    cast(null as numeric) as value_as_number,
    cast(null as integer) as value_as_concept_id,
    cast(null as text) as value_as_string,
    cast(null as integer) as unit_concept_id,
    cast(null as text) as unit_source_value,
    cast(null as numeric) as range_low,
    cast(null as numeric) as range_high
from parta_diagnoses_ranked as ranked
inner join parta on ranked.claim_id = parta.claim_id
left join icd on parta.icd_version = icd.indicator

union all

select
    partb_diagnoses.visit_key, partb_diagnoses.visit_detail_key, partb_diagnoses.current_mbi,
    'ICD10CM', partb_diagnoses.code, 'Condition', partb_diagnoses.start_date,
    partb_diagnoses.end_date, partb_diagnoses.status_concept_id, null, null, null,
    partb_diagnoses.provider_npi,
    32810, null, null, null, null, null, null, null
from partb_diagnoses

union all

-- CCLF3: ICD procedure codes of Part A claims, on their performed date.
select
    'cclf:A:' || parta.claim_id, null, parta.current_mbi,
    coalesce(icd.procedure_system, 'ICD10PCS'), procedures.clm_prcdr_cd, 'Procedure',
    coalesce(procedures.clm_prcdr_prfrm_dt, parta.claim_start_date),
    coalesce(procedures.clm_prcdr_prfrm_dt, parta.claim_start_date), null, null, null, null,
    parta.operating_npi,
    32810, null, null, null, null, null, null, null
from procedure_codes as procedures
inner join parta on procedures.cur_clm_uniq_id = parta.claim_id
left join icd on procedures.dgns_prcdr_icd_ind = icd.indicator
where procedures.clm_prcdr_cd is not null

union all

-- CCLF2: HCPCS/CPT on revenue center lines of the kept Part A claim.
select
    'cclf:A:' || parta.claim_id, null, parta.current_mbi, 'HCPCS', revenue.clm_line_hcpcs_cd,
    'Procedure', coalesce(revenue.clm_line_from_dt, parta.claim_start_date),
    coalesce(revenue.clm_line_thru_dt, revenue.clm_line_from_dt, parta.claim_start_date),
    null, revenue.hcpcs_1_mdfr_cd, revenue.clm_line_srvc_unit_qty, null, parta.attending_npi,
    32810, null, null, null, null, null, null, null
from revenue_lines as revenue
inner join parta on revenue.cur_clm_uniq_id = parta.claim_id
where revenue.clm_line_hcpcs_cd is not null

union all

-- CCLF5: HCPCS/CPT on Part B lines.
select
    partb.visit_key, partb.visit_detail_key, partb.current_mbi, 'HCPCS', partb.hcpcs_code,
    'Procedure', partb.line_start_date, partb.line_end_date, null, partb.modifier_1,
    partb.service_units, null, partb.rendering_npi,
    32810, null, null, null, null, null, null, null
from partb
where partb.hcpcs_code is not null

union all

-- CCLF6: DME HCPCS, devices unless the code maps elsewhere.
select
    'cclf:DME:' || dme.current_mbi || ':' || dme.claim_id, null, dme.current_mbi, 'HCPCS',
    dme.hcpcs_code, 'Device', dme.line_start_date, dme.line_end_date, null, null, null, null,
    dme.ordering_npi,
    32810, null, null, null, null, null, null, null
from {{ ref('int_dme_lines__cclf') }} as dme
where dme.hcpcs_code is not null

union all

-- CCLF7: Part D fills, NDC with quantity and days supply; the prescriber when
-- PRVDR_PRSBNG_ID_QLFYR_CD says the id is an NPI (01, IP v38 Table 20 element 13).
select
    'cclf:D:' || fills.claim_id, null, fills.current_mbi, 'NDC', fills.ndc_code, 'Drug',
    fills.fill_date,
    cast(fills.fill_date + greatest(coalesce(fills.days_supply, 1), 1) - 1 as date),
    null, null, fills.quantity, fills.days_supply,
    case when fills.prescriber_id_qualifier = '01' then fills.prescriber_id end,
    32810, null, null, null, null, null, null, null
from {{ ref('int_partd_fills__cclf') }} as fills
where fills.ndc_code is not null
