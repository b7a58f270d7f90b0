-- One row per Patient.identifier worth linking on, for the later cross-source identity
-- step (docs/fhir_mapping.md, "Identity"): the MBI (system http://hl7.org/fhir/sid/us-mbi,
-- as BFD/BCDA and many EHRs carry it), the BFD beneficiary id, medical record numbers
-- (identifier type MR, HL7 v2 table 0203) and any other identifier, each with whether it
-- is current (BFD identifier-currency extension, else no ended period). Social security,
-- driver's licence and passport numbers are left out: linkage uses MBIs, MRNs and
-- privacy-preserving tokens, never those.
with listed as (
    select patients.patient_id, identifier.entry, identifier.position
    from {{ ref('stg_fhir__patients') }} as patients,
        jsonb_path_query(patients.identifiers, '$[*]') with ordinality as identifier (entry, position)
),

typed as (
    select
        patient_id,
        position,
        entry ->> 'system' as identifier_system,
        entry ->> 'value' as id_value,
        {{ fhir_code('entry', '$.type') }} as type_code,
        jsonb_path_query_first(entry,
            '$.**.extension[*] ? (@.url == "https://bluebutton.cms.gov/resources/codesystem/identifier-currency").valueCoding.code')
            #>> '{}' as currency,
        {{ fhir_period_start('entry', 'period') }} as valid_from,
        {{ fhir_period_end('entry', 'period') }} as valid_to
    from listed
    where entry ->> 'value' is not null
)

select
    patient_id,
    case
        when identifier_system = 'http://hl7.org/fhir/sid/us-mbi' then 'mbi'
        when identifier_system = 'https://bluebutton.cms.gov/resources/variables/bene_id'
            then 'bfd_bene_id'
        when type_code = 'MR' then 'mrn'
        else 'other'
    end as id_system,
    id_value,
    identifier_system,
    type_code,
    coalesce(currency = 'current', currency is null and valid_to is null) as is_current,
    valid_from,
    valid_to
from typed
where coalesce(identifier_system, '') not in ('http://hl7.org/fhir/sid/us-ssn',
        'http://hl7.org/fhir/sid/us-passport')
    and coalesce(type_code, '') not in ('SS', 'DL', 'PPN', 'SB')
