-- One row per final-action Part B physician line (CCLF5) after IP §5 version resolution,
-- by the rules of int_parta_claims__cclf (docs/cclf_mapping.md, "Claim versions"):
-- a line version (CUR_CLM_UNIQ_ID + CLM_LINE_NUM) delivered more than once counts once,
-- from the newest delivery; related lines share claim control number + line number +
-- current MBI (§5.1.2, per line because cancellations and payments are per line,
-- §5.3.1 step 2); each cancelled line is matched with the line it cancels (same group,
-- same CLM_LINE_CVRD_PD_AMT, processed strictly before it, the oldest first) and the
-- pair removed (§5.2.2); denied claims and lines (§3.2) are dropped. Amounts are the
-- kept line's own.
with delivered as (
    select distinct on (version_key)
        lines.*
    from (
        select
            coalesce(cur_clm_uniq_id || ':' || clm_line_num,
                     'line ' || load_id || ':' || line_number) as version_key,
            stg.*
        from {{ ref('stg_cclf__partb_physicians') }} as stg
    ) as lines
    order by version_key, delivery_date desc, load_id desc, line_number desc
),

versions as (
    select
        {{ cclf_current_mbi('delivered.bene_mbi_id') }} as current_mbi,
        delivered.*,
        coalesce(delivered.clm_adjsmt_type_cd, '') = '1' as is_cancellation,
        coalesce(delivered.clm_efctv_dt, delivered.clm_idr_ld_dt) as processed_on,
        abs(coalesce(delivered.clm_line_cvrd_pd_amt, 0)) as match_amount
    from delivered
    left join {{ ref('int_current_mbi__cclf') }} as xref on delivered.bene_mbi_id = xref.mbi
),

counted as (
    select
        versions.*,
        count(*) filter (where not is_cancellation) over running as lines_so_far,
        count(*) filter (where is_cancellation) over running as cancellations_so_far
    from versions
    window running as (
        partition by clm_cntl_num, clm_line_num, current_mbi, match_amount
        order by processed_on nulls first, is_cancellation desc, cur_clm_uniq_id
        rows between unbounded preceding and current row
    )
),

-- See int_parta_claims__cclf: the first `lines_cancelled` lines of a bucket are paired.
matched as (
    select
        counted.*,
        count(*) filter (where is_cancellation) over bucket
        + least(0, coalesce(
            min(lines_so_far - cancellations_so_far) filter (where is_cancellation) over bucket,
            0
        )) as lines_cancelled
    from counted
    window bucket as (partition by clm_cntl_num, clm_line_num, current_mbi, match_amount)
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
    clm_line_cvrd_pd_amt as paid,
    clm_line_alowd_chrg_amt as allowed,
    load_id,
    file_name,
    line_number
from matched
where not is_cancellation
    and lines_so_far > lines_cancelled
    and clm_carr_pmt_dnl_cd is distinct from '0'
    and coalesce(clm_prcsg_ind_cd, 'A') in ('A', 'R', 'S')
