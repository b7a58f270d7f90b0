-- One row per distinct set of linkage demographics a CCLF beneficiary was delivered with
-- (CCLF8 across every delivery: a name change keeps the old name's row too), for the
-- linkage tokens (etl/linkage/tokens.py). Raw values: `etl` normalises, hashes and keeps
-- only keyed tokens; these rows never leave the warehouse.
select distinct
    'mbi' as key_system,
    {{ cclf_current_mbi('demographics.bene_mbi_id') }} as person_key,
    demographics.bene_1st_name as first_name,
    demographics.bene_last_name as last_name,
    case demographics.bene_sex_cd when '1' then 'M' when '2' then 'F' end as sex,
    demographics.bene_dob as birth_date,
    coalesce(demographics.geo_zip5_cd, demographics.bene_zip_cd) as zip5
from {{ ref('stg_cclf__beneficiary_demographics') }} as demographics
left join {{ ref('int_current_mbi__cclf') }} as xref on demographics.bene_mbi_id = xref.mbi
where demographics.bene_mbi_id is not null
    and {{ cclf_current_mbi('demographics.bene_mbi_id') }} in
        (select current_mbi from {{ ref('int_beneficiaries__cclf') }})
