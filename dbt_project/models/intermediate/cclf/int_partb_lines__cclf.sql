-- One row per final-action Part B physician line (CCLF5) after IP §5 version resolution:
-- identical re-deliveries counted once; related lines grouped by claim control number +
-- line number + current MBI (§5.1.2); cancelled lines' paid and allowed amounts negated
-- and summed over the group (§5.3.1 step 2); the latest version kept, the group dropped
-- when it is a cancellation; denied claims and lines (§3.2) dropped.
with delivered as (
    select distinct on ({{ cclf_record_digest('lines') }})
        lines.*
    from {{ ref('stg_cclf__partb_physicians') }} as lines
    order by {{ cclf_record_digest('lines') }}, lines.delivery_date, lines.line_number
),

keyed as (
    select
        {{ cclf_current_mbi('delivered.bene_mbi_id') }} as current_mbi,
        delivered.*,
        {{ cclf_signed('coalesce(delivered.clm_line_cvrd_pd_amt, 0)') }} as signed_paid,
        {{ cclf_signed('coalesce(delivered.clm_line_alowd_chrg_amt, 0)') }} as signed_allowed
    from delivered
    left join {{ ref('int_current_mbi__cclf') }} as xref on delivered.bene_mbi_id = xref.mbi
),

versions as (
    select
        keyed.*,
        sum(signed_paid) over related as net_paid,
        sum(signed_allowed) over related as net_allowed,
        row_number() over (
            partition by clm_cntl_num, clm_line_num, current_mbi
            order by clm_efctv_dt desc nulls last, cast(cur_clm_uniq_id as numeric) desc
        ) as recency
    from keyed
    window related as (partition by clm_cntl_num, clm_line_num, current_mbi)
)

select
    current_mbi,
    cur_clm_uniq_id as claim_id,
    clm_line_num as claim_line_number,
    clm_type_cd as claim_type,
    clm_from_dt as claim_start_date,
    clm_thru_dt as claim_end_date,
    coalesce(clm_line_from_dt, clm_from_dt) as line_start_date,
    coalesce(clm_line_thru_dt, clm_line_from_dt, clm_thru_dt) as line_end_date,
    clm_pos_cd as place_of_service_code,
    clm_prvdr_spclty_cd as specialty_code,
    clm_line_hcpcs_cd as hcpcs_code,
    hcpcs_1_mdfr_cd as modifier_1,
    hcpcs_2_mdfr_cd as modifier_2,
    clm_line_srvc_unit_qty as service_units,
    clm_line_dgns_cd as line_diagnosis_code,
    array_remove(array[
        clm_dgns_1_cd, clm_dgns_2_cd, clm_dgns_3_cd, clm_dgns_4_cd, clm_dgns_5_cd,
        clm_dgns_6_cd, clm_dgns_7_cd, clm_dgns_8_cd, clm_dgns_9_cd, clm_dgns_10_cd,
        clm_dgns_11_cd, clm_dgns_12_cd
    ], null) as claim_diagnosis_codes,
    coalesce(rndrg_prvdr_npi_num, clm_rndrg_prvdr_npi_num) as rendering_npi,
    clm_rfrg_prvdr_npi_num as referring_npi,
    net_paid,
    net_allowed,
    load_id,
    file_name,
    line_number
from versions
where recency = 1
    and clm_adjsmt_type_cd is distinct from '1'
    and clm_carr_pmt_dnl_cd is distinct from '0'
    and coalesce(clm_prcsg_ind_cd, 'A') in ('A', 'R', 'S')
