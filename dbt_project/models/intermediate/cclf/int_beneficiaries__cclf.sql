-- One row per beneficiary (current MBI): demographics from the newest CCLF8 record.
with demographics as (
    select
        {{ cclf_current_mbi('demographics.bene_mbi_id') }} as current_mbi,
        demographics.*
    from {{ ref('stg_cclf__beneficiary_demographics') }} as demographics
    left join {{ ref('int_current_mbi__cclf') }} as xref
        on demographics.bene_mbi_id = xref.mbi
    where demographics.bene_mbi_id is not null
)

select distinct on (current_mbi)
    current_mbi,
    bene_dob as birth_date,
    bene_sex_cd as sex_code,
    bene_race_cd as race_code,
    bene_death_dt as death_date,
    bene_fips_state_cd as fips_state_code,
    bene_fips_cnty_cd as fips_county_code,
    coalesce(geo_usps_state_cd, '') as state,
    coalesce(geo_zip5_cd, bene_zip_cd) as zip5,
    geo_zip_plc_name as city,
    bene_dual_stus_cd as dual_status_code,
    bene_mdcr_stus_cd as medicare_status_code,
    bene_part_a_enrlmt_bgn_dt as part_a_start_date,
    bene_part_b_enrlmt_bgn_dt as part_b_start_date,
    delivery_date as last_delivery_date
from demographics
order by current_mbi, delivery_date desc, line_number desc
