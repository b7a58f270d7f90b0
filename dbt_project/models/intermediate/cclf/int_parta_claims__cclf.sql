-- One row per final-action Part A claim (CCLF1), after IP §5 version resolution
-- (docs/cclf_mapping.md, "Claim versions"):
-- 1. a claim version (CUR_CLM_UNIQ_ID) delivered more than once counts once, from the
--    newest delivery (regular and run-out files repeat claims, sometimes with a changed
--    non-key field);
-- 2. related claims share the natural key of §5.1.2 (billing OSCAR + from/thru dates +
--    current MBI, §5.1.1);
-- 3. each cancellation is matched with the claim it cancels (§5.2.1): a non-cancellation
--    of the same group and the same CLM_PMT_AMT (a cancellation repeats the claim it
--    cancels) processed strictly before it; among several, the oldest unmatched one.
--    Matched pairs are removed; every claim left is final action, so a group can keep
--    several (two originals, §5.2.1 pattern 4) or none. A cancellation whose claim
--    predates the files matches nothing and removes nothing;
-- 4. denied claims (non-payment reason present, §3.2) are dropped.
-- Amounts are the final claim's own: once a cancellation's pair is removed, the pair
-- nets to zero (§5.3.1), so the group's signed sum is the sum of its final claims.
with delivered as (
    select distinct on (version_key)
        headers.*
    from (
        select
            coalesce(cur_clm_uniq_id, 'line ' || load_id || ':' || line_number) as version_key,
            stg.*
        from {{ ref('stg_cclf__parta_claims_header') }} as stg
    ) as headers
    order by version_key, delivery_date desc, load_id desc, line_number desc
),

versions as (
    select
        {{ cclf_current_mbi('delivered.bene_mbi_id') }} as current_mbi,
        delivered.*,
        coalesce(delivered.clm_adjsmt_type_cd, '') = '1' as is_cancellation,
        -- When the claim was processed; the IDR load date stands in for a missing
        -- effective date (IP §3.6 sentinels land as null).
        coalesce(delivered.clm_efctv_dt, delivered.clm_idr_ld_dt) as processed_on,
        abs(coalesce(delivered.clm_pmt_amt, 0)) as match_amount
    from delivered
    left join {{ ref('int_current_mbi__cclf') }} as xref on delivered.bene_mbi_id = xref.mbi
),

-- Within one group and amount, in processing order (a cancellation sorts before a claim
-- processed the same day: it cannot cancel a claim issued alongside it), how many
-- non-cancellations and cancellations have been seen so far.
counted as (
    select
        versions.*,
        count(*) filter (where not is_cancellation) over running as claims_so_far,
        count(*) filter (where is_cancellation) over running as cancellations_so_far
    from versions
    window running as (
        partition by clm_blg_prvdr_oscar_num, clm_from_dt, clm_thru_dt, current_mbi,
            match_amount
        order by processed_on nulls first, is_cancellation desc, cur_clm_uniq_id
        rows between unbounded preceding and current row
    )
),

-- Each cancellation takes the oldest claim not yet taken, if one was processed before
-- it. The k-th cancellation finds one unless some j <= k saw fewer than j claims, so
-- the number matched is K + min(0, min_j(claims_so_far_j - j)) over the K
-- cancellations, and the claims removed are the first that many in processing order.
matched as (
    select
        counted.*,
        count(*) filter (where is_cancellation) over bucket
        + least(0, coalesce(
            min(claims_so_far - cancellations_so_far) filter (where is_cancellation) over bucket,
            0
        )) as claims_cancelled
    from counted
    window bucket as (
        partition by clm_blg_prvdr_oscar_num, clm_from_dt, clm_thru_dt, current_mbi,
            match_amount
    )
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
    clm_adjsmt_type_cd as adjustment_type_code,
    clm_pmt_amt as paid,
    clm_mdcr_instnl_tot_chrg_amt as charge,
    load_id,
    file_name,
    line_number
from matched
where not is_cancellation
    and claims_so_far > claims_cancelled
    and clm_mdcr_npmt_rsn_cd is null
