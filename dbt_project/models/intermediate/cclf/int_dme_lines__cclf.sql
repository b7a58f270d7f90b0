-- One row per final-action Part B DME line (CCLF6) after IP §5 version resolution, by
-- the same rules as Part B physician lines (§5.1.2, §5.2.3, §5.3.1 step 3, §3.2).
with delivered as (
    select distinct on ({{ cclf_record_digest('lines') }})
        lines.*
    from {{ ref('stg_cclf__partb_dme') }} as lines
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
    clm_line_hcpcs_cd as hcpcs_code,
    ordrg_prvdr_npi_num as ordering_npi,
    coalesce(clm_blg_prvdr_npi_num, payto_prvdr_npi_num) as supplier_npi,
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
