-- One row per final-action Part D prescription fill (CCLF7). Part D rows are final action
-- in each delivery (IP §3.3): across deliveries, the most recent claim of a related set
-- (the natural key of §5.1.2, plus the current MBI) is kept and the earlier ones are
-- ignored; when that most recent claim is a deletion (cancellation) the fill is gone.
-- "Most recent" is the delivery that first carried the version, then CLM_EFCTV_DT (most
-- Part D rows carry the 1000-01-01 sentinel, null here), a non-cancellation before a
-- cancellation processed alongside it, the IDR load date, the claim id. A version
-- delivered again counts once (newest copy). Amounts are the kept version's own.
with versions_delivered as (
    select
        coalesce(cur_clm_uniq_id, 'line ' || load_id || ':' || line_number) as version_key,
        stg.*
    from {{ ref('stg_cclf__partd_claims') }} as stg
),

delivered as (
    select distinct on (version_key)
        fills.*,
        min(fills.delivery_date) over (partition by fills.version_key) as first_delivered
    from versions_delivered as fills
    order by version_key, delivery_date desc, load_id desc, line_number desc
),

keyed as (
    select
        {{ cclf_current_mbi('delivered.bene_mbi_id') }} as current_mbi,
        delivered.*,
        -- A cancellation (CLM_ADJSMT_TYPE_CD 1, IP §5.3) or a deleted claim (CLM_TYPE_CD 03,
        -- 'Part D - Deleted Claims', IP v38 Table 20): either way the fill is gone.
        coalesce(delivered.clm_adjsmt_type_cd, '') = '1' or delivered.clm_type_cd = '03'
            as is_cancellation
    from delivered
    left join {{ ref('int_current_mbi__cclf') }} as xref on delivered.bene_mbi_id = xref.mbi
),

versions as (
    select
        keyed.*,
        row_number() over (
            partition by clm_line_from_dt, prvdr_srvc_id_qlfyr_cd, clm_srvc_prvdr_gnrc_id_num,
                clm_dspnsng_stus_cd, clm_line_rx_srvc_rfrnc_num, clm_line_rx_fill_num,
                current_mbi
            order by first_delivered desc, clm_efctv_dt desc nulls last, is_cancellation,
                clm_idr_ld_dt desc nulls last, cur_clm_uniq_id desc
        ) as recency
    from keyed
)

select
    current_mbi,
    cur_clm_uniq_id as claim_id,
    clm_line_from_dt as fill_date,
    clm_line_ndc_cd as ndc_code,
    clm_line_srvc_unit_qty as quantity,
    clm_line_days_suply_qty as days_supply,
    clm_line_rx_fill_num as fill_number,
    clm_prsbng_prvdr_gnrc_id_num as prescriber_id,
    prvdr_prsbng_id_qlfyr_cd as prescriber_id_qualifier,
    clm_line_bene_pmt_amt as patient_paid,
    load_id,
    file_name,
    line_number
from versions
where recency = 1
    and not is_cancellation
