-- One row per identifier of a CCLF beneficiary (docs/linkage.md, "Identifiers"): the
-- beneficiary is known by their current MBI (key_system 'mbi', person_key = current MBI);
-- their identifiers are that MBI, every previous MBI CCLF9 maps to it (chains resolved)
-- and every HICN on record (CCLF9 rows with HICN_MBI_XREF_IND 'H', CCLF8 BENE_HIC_NUM).
-- MBIs and HICNs are national identifiers: the same value in another source (a FHIR
-- Patient's us-mbi identifier, a Medicare 837 subscriber) is the same person.
with beneficiaries as (
    select current_mbi from {{ ref('int_beneficiaries__cclf') }}
),

hicn_xref as (
    select distinct xref.prvs_num as hicn, {{ cclf_current_mbi('xref.crnt_num', 'resolved') }} as current_mbi
    from {{ ref('stg_cclf__beneficiary_xref') }} as xref
    left join {{ ref('int_current_mbi__cclf') }} as resolved on xref.crnt_num = resolved.mbi
    where xref.hicn_mbi_xref_ind = 'H' and xref.prvs_num is not null and xref.crnt_num is not null
),

hicn_demographics as (
    select distinct demographics.bene_hic_num as hicn,
        {{ cclf_current_mbi('demographics.bene_mbi_id') }} as current_mbi
    from {{ ref('stg_cclf__beneficiary_demographics') }} as demographics
    left join {{ ref('int_current_mbi__cclf') }} as xref on demographics.bene_mbi_id = xref.mbi
    where demographics.bene_hic_num is not null and demographics.bene_mbi_id is not null
)

select 'mbi' as key_system, current_mbi as person_key, 'mbi' as id_system,
    current_mbi as id_value
from beneficiaries

union all

select 'mbi', xref.current_mbi, 'mbi', xref.mbi
from {{ ref('int_current_mbi__cclf') }} as xref
inner join beneficiaries on xref.current_mbi = beneficiaries.current_mbi
where xref.mbi not in (select hicn from hicn_xref)

union all

select distinct 'mbi', hicns.current_mbi, 'hicn', upper(replace(hicns.hicn, '-', ''))
from (select * from hicn_xref union select * from hicn_demographics) as hicns
inner join beneficiaries on hicns.current_mbi = beneficiaries.current_mbi
