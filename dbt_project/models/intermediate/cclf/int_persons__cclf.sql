-- One row per CCLF beneficiary (current MBI) with OMOP-coded demographics
-- (docs/cclf_mapping.md, "Demographics"; CCLF8 BENE_SEX_CD and RTI BENE_RACE_CD), as of
-- the delivery that listed them last (docs/linkage.md, "Demographics across sources").
select
    'mbi' as id_system,
    current_mbi as person_key,
    birth_date,
    case sex_code when '1' then 8507 when '2' then 8532 else 0 end as gender_concept_id,
    sex_code as gender_source_value,
    case race_code
        when '1' then 8527
        when '2' then 8516
        when '4' then 8515
        when '6' then 8657
        else 0
    end as race_concept_id,
    race_code as race_source_value,
    case
        when race_code = '5' then 38003563
        when race_code in ('1', '2', '3', '4', '6') then 38003564
        else 0
    end as ethnicity_concept_id,
    case when race_code = '5' then '5' end as ethnicity_source_value,
    state,
    zip5,
    fips_state_code || fips_county_code as county,
    city,
    death_date,
    last_delivery_date as demographics_as_of
from {{ ref('int_beneficiaries__cclf') }}
where birth_date is not null
