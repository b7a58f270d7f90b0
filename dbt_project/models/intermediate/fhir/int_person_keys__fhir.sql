-- One row per identifier of a FHIR person (docs/linkage.md, "Identifiers"). A person is
-- known by Patient.id (key_system 'fhir_patient'); the identifiers worth linking on come
-- from int_patient_identifiers__fhir: the MBI (us-mbi, current or not: an old MBI is
-- still this person's), a HICN (us-medicare system with the HICN format), the BFD
-- beneficiary id, and medical record numbers, which are only unique within their
-- assigning system: their value is prefixed with it ('urn:oid:...|MRN123').
with listed as (
    select
        patient_id,
        case
            when identifier_system = 'http://hl7.org/fhir/sid/us-medicare'
                and upper(id_value) ~ '^[0-9]{9}[A-Z][A-Z0-9]?$' then 'hicn'
            when identifier_system = 'http://hl7.org/fhir/sid/us-medicare' then 'mbi'
            else id_system
        end as id_system,
        identifier_system,
        id_value
    from {{ ref('int_patient_identifiers__fhir') }}
)

select 'fhir_patient' as key_system, patient_id as person_key, 'fhir_patient' as id_system,
    patient_id as id_value
from {{ ref('stg_fhir__patients') }}

union

select 'fhir_patient', patient_id, id_system,
    case
        when id_system in ('mbi', 'hicn') then upper(replace(id_value, '-', ''))
        else coalesce(identifier_system, '') || '|' || id_value
    end
from listed
where id_system in ('mbi', 'hicn', 'bfd_bene_id', 'mrn')
    and patient_id in (select patient_id from {{ ref('stg_fhir__patients') }})
