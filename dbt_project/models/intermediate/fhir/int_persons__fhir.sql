-- One row per Patient with a birth date (OMOP requires year_of_birth), coded as
-- docs/fhir_mapping.md "Demographics" says:
-- * Patient.gender male 8507, female 8532; other and unknown 0 (OMOP has no standard
--   concept for them).
-- * US Core race: one OMB category → its OMOP race concept; several → 0 (OMOP has no
--   "more than one race"), the codes kept in race_source_value; BFD race code as CCLF8.
-- * US Core ethnicity: 2135-2 Hispanic or Latino 38003563, 2186-5 not 38003564.
-- * Address: the home address (stg_fhir__patients); a state written out is abbreviated.
-- * death: Patient.deceasedDateTime (deceasedBoolean alone gives no date).
with patients as (
    select * from {{ ref('stg_fhir__patients') }} where birth_date is not null
),

omb_races (code, race_concept_id) as (
    values ('2106-3', 8527), ('2054-5', 8516), ('2028-9', 8515), ('1002-5', 8657),
        ('2076-8', 8557)
),

-- BFD `race` extension: the RTI race code of CMS enrollment data (as CCLF8 BENE_RACE_CD).
bfd_races (code, race_concept_id) as (
    values ('1', 8527), ('2', 8516), ('4', 8515), ('6', 8657)
),

state_names (name, abbreviation) as (
    values ('alabama', 'AL'), ('alaska', 'AK'), ('arizona', 'AZ'), ('arkansas', 'AR'),
        ('california', 'CA'), ('colorado', 'CO'), ('connecticut', 'CT'), ('delaware', 'DE'),
        ('district of columbia', 'DC'), ('florida', 'FL'), ('georgia', 'GA'), ('hawaii', 'HI'),
        ('idaho', 'ID'), ('illinois', 'IL'), ('indiana', 'IN'), ('iowa', 'IA'),
        ('kansas', 'KS'), ('kentucky', 'KY'), ('louisiana', 'LA'), ('maine', 'ME'),
        ('maryland', 'MD'), ('massachusetts', 'MA'), ('michigan', 'MI'), ('minnesota', 'MN'),
        ('mississippi', 'MS'), ('missouri', 'MO'), ('montana', 'MT'), ('nebraska', 'NE'),
        ('nevada', 'NV'), ('new hampshire', 'NH'), ('new jersey', 'NJ'),
        ('new mexico', 'NM'), ('new york', 'NY'), ('north carolina', 'NC'),
        ('north dakota', 'ND'), ('ohio', 'OH'), ('oklahoma', 'OK'), ('oregon', 'OR'),
        ('pennsylvania', 'PA'), ('rhode island', 'RI'), ('south carolina', 'SC'),
        ('south dakota', 'SD'), ('tennessee', 'TN'), ('texas', 'TX'), ('utah', 'UT'),
        ('vermont', 'VT'), ('virginia', 'VA'), ('washington', 'WA'),
        ('west virginia', 'WV'), ('wisconsin', 'WI'), ('wyoming', 'WY'),
        ('puerto rico', 'PR'), ('guam', 'GU'), ('virgin islands', 'VI'),
        ('american samoa', 'AS'), ('northern mariana islands', 'MP')
),

coded as (
    select
        patients.*,
        (select string_agg(code #>> '{}', '|') from jsonb_array_elements(patients.race_codes) as code)
            as race_source,
        patients.ethnicity_codes ->> 0 as ethnicity_code,
        patients.address ->> 'state' as state_text
    from patients
)

select
    'fhir_patient' as id_system,
    coded.patient_id as person_key,
    coded.birth_date,
    case coded.gender when 'male' then 8507 when 'female' then 8532 else 0 end
        as gender_concept_id,
    coded.gender as gender_source_value,
    coalesce(
        case when jsonb_array_length(coded.race_codes) = 1 then omb_races.race_concept_id end,
        case when jsonb_array_length(coded.race_codes) = 0 then bfd_races.race_concept_id end,
        0
    ) as race_concept_id,
    coalesce(coded.race_source, coded.bfd_race_code) as race_source_value,
    case
        when coded.ethnicity_code = '2135-2' or coded.bfd_race_code = '5' then 38003563
        when coded.ethnicity_code = '2186-5' then 38003564
        else 0
    end as ethnicity_concept_id,
    coalesce(coded.ethnicity_code, case when coded.bfd_race_code = '5' then '5' end)
        as ethnicity_source_value,
    coalesce(state_names.abbreviation,
        case when length(trim(coded.state_text)) = 2 then upper(trim(coded.state_text)) end) as state,
    substring(coded.address ->> 'postalCode' from '^\d{5}') as zip5,
    coded.address ->> 'district' as county,
    coded.address ->> 'city' as city,
    coded.death_date,
    coded.as_of_date as demographics_as_of
from coded
left join omb_races on coded.race_codes ->> 0 = omb_races.code
left join bfd_races on coded.bfd_race_code = bfd_races.code
left join state_names on lower(trim(coded.state_text)) = state_names.name
