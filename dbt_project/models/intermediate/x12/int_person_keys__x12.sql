-- One row per identifier of an X12 person (docs/linkage.md, "Identifiers"). A person is
-- known by payer id + member id (2010BB NM109 + 2010BA NM109; for a dependent, 2000C,
-- also their name and birth date): key_system 'payer_member', which is also an identifier
-- (the same payer and member id elsewhere is the same person). On a Medicare fee-for-service
-- claim (SBR09 MA or MB) the subscriber's member id is their MBI (or, before 2020, HICN):
-- when it has that format it is listed as an 'mbi' ('hicn') identifier too, which links
-- the member to CCLF beneficiaries and FHIR Patients with that MBI.
with keys as (
    select distinct
        person_key,
        case
            when claims.patient_last_name is null
                and claims.claim_filing_indicator in ('MA', 'MB')
                then upper(replace(claims.subscriber_id, '-', ''))
        end as medicare_id
    from {{ ref('int_claims__x12') }} as claims
    where person_key is not null
)

select distinct 'payer_member' as key_system, person_key, 'payer_member' as id_system,
    person_key as id_value
from keys

union all

select distinct 'payer_member', person_key,
    case when medicare_id ~ '^[0-9]{9}[A-Z][A-Z0-9]?$' then 'hicn' else 'mbi' end,
    medicare_id
from keys
where medicare_id ~ '^[1-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9][0-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9][0-9][AC-HJKMNP-RT-Y]{2}[0-9]{2}$'
    or medicare_id ~ '^[0-9]{9}[A-Z][A-Z0-9]?$'
