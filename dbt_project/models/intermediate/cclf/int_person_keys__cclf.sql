-- One row per beneficiary identifier known to CCLF: every current MBI of a CCLF8
-- beneficiary (canonical_value = itself) and every previous identifier CCLF9 maps to it.
-- `etl` keeps etl.person_crosswalk in step with this table, so a beneficiary keeps their
-- person_id across runs, rebuilds and MBI changes.
select 'mbi' as id_system, current_mbi as id_value,
    current_mbi as canonical_value
from {{ ref('int_beneficiaries__cclf') }}

union all

select 'mbi', xref.mbi, xref.current_mbi
from {{ ref('int_current_mbi__cclf') }} as xref
inner join {{ ref('int_beneficiaries__cclf') }} as beneficiaries
    on xref.current_mbi = beneficiaries.current_mbi
