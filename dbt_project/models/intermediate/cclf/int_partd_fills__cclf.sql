-- One row per final-action Part D prescription fill (CCLF7). Part D rows are final
-- action per delivery (IP §3.3); related fills share the natural key of §5.1.2 and the
-- most recent one wins; a deletion (cancellation, $0, blank NDC) removes the fill.
with delivered as (
    select distinct on ({{ cclf_record_digest('fills') }})
        fills.*
    from {{ ref('stg_cclf__partd_claims') }} as fills
    order by {{ cclf_record_digest('fills') }}, fills.delivery_date, fills.line_number
),

keyed as (
    select
        {{ cclf_current_mbi('delivered.bene_mbi_id') }} as current_mbi,
        delivered.*,
        {{ cclf_signed('coalesce(delivered.clm_line_bene_pmt_amt, 0)') }} as signed_patient_paid
    from delivered
    left join {{ ref('int_current_mbi__cclf') }} as xref on delivered.bene_mbi_id = xref.mbi
),

versions as (
    select
        keyed.*,
        sum(signed_patient_paid) over related as net_patient_paid,
        row_number() over (
            partition by clm_line_from_dt, prvdr_srvc_id_qlfyr_cd, clm_srvc_prvdr_gnrc_id_num,
                clm_dspnsng_stus_cd, clm_line_rx_srvc_rfrnc_num, clm_line_rx_fill_num,
                current_mbi
            order by clm_efctv_dt desc nulls last, cast(cur_clm_uniq_id as numeric) desc
        ) as recency
    from keyed
    window related as (
        partition by clm_line_from_dt, prvdr_srvc_id_qlfyr_cd, clm_srvc_prvdr_gnrc_id_num,
            clm_dspnsng_stus_cd, clm_line_rx_srvc_rfrnc_num, clm_line_rx_fill_num, current_mbi
    )
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
    net_patient_paid,
    load_id,
    file_name,
    line_number
from versions
where recency = 1
    and clm_adjsmt_type_cd is distinct from '1'
