-- One row per final-action Part A claim (CCLF1), after IP §5 version resolution:
-- identical re-deliveries counted once; related claims grouped by the natural key
-- (billing OSCAR + from/thru dates + current MBI, §5.1.2); cancellation amounts negated
-- and summed over the group (§5.3.1 step 1); the latest version (effective date, then
-- claim id) kept, and the group dropped when that version is a cancellation; denied
-- claims (non-payment reason present, §3.2) dropped.
with delivered as (
    select distinct on ({{ cclf_record_digest('headers') }})
        headers.*
    from {{ ref('stg_cclf__parta_claims_header') }} as headers
    order by {{ cclf_record_digest('headers') }}, headers.delivery_date, headers.line_number
),

keyed as (
    select
        {{ cclf_current_mbi('delivered.bene_mbi_id') }} as current_mbi,
        delivered.*,
        {{ cclf_signed('coalesce(delivered.clm_pmt_amt, 0)') }} as signed_paid,
        {{ cclf_signed('coalesce(delivered.clm_mdcr_instnl_tot_chrg_amt, 0)') }}
            as signed_charge
    from delivered
    left join {{ ref('int_current_mbi__cclf') }} as xref on delivered.bene_mbi_id = xref.mbi
),

versions as (
    select
        keyed.*,
        sum(signed_paid) over related as net_paid,
        sum(signed_charge) over related as net_charge,
        count(*) over related as versions_in_group,
        row_number() over (
            partition by clm_blg_prvdr_oscar_num, clm_from_dt, clm_thru_dt, current_mbi
            order by clm_efctv_dt desc nulls last, cast(cur_clm_uniq_id as numeric) desc
        ) as recency
    from keyed
    window related as (partition by clm_blg_prvdr_oscar_num, clm_from_dt, clm_thru_dt,
                                    current_mbi)
)

select
    current_mbi,
    cur_clm_uniq_id as claim_id,
    clm_type_cd as claim_type,
    clm_from_dt as claim_start_date,
    clm_thru_dt as claim_end_date,
    clm_bill_fac_type_cd as facility_type_code,
    clm_bill_clsfctn_cd as bill_classification_code,
    clm_bill_freq_cd as bill_frequency_code,
    prncpl_dgns_cd as principal_diagnosis_code,
    admtg_dgns_cd as admitting_diagnosis_code,
    dgns_drg_cd as drg_code,
    bene_ptnt_stus_cd as discharge_status_code,
    clm_admsn_src_cd as admission_source_code,
    clm_blg_prvdr_oscar_num as billing_oscar_num,
    coalesce(clm_blg_prvdr_npi_num, fac_prvdr_npi_num) as facility_npi,
    coalesce(clm_atndg_prvdr_npi_num, atndg_prvdr_npi_num) as attending_npi,
    coalesce(clm_oprtg_prvdr_npi_num, oprtg_prvdr_npi_num) as operating_npi,
    dgns_prcdr_icd_ind as icd_version,
    net_paid,
    net_charge,
    versions_in_group,
    load_id,
    file_name,
    line_number
from versions
where recency = 1
    and clm_adjsmt_type_cd is distinct from '1'
    and clm_mdcr_npmt_rsn_cd is null
