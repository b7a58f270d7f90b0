-- One row per X12 person with a birth date (2010BA or 2010CA DMG): demographics of the
-- most recent surviving claim that has one. A member never sent with a birth date is
-- not an OMOP person (their claims stay in staging and intermediate models).
with latest as (
    select distinct on (person_key) *
    from {{ ref('int_claims__x12') }}
    where birth_date is not null
    order by person_key, group_created_at desc nulls last, interchange_created_at desc nulls last,
        load_id desc, claim_position desc
)

select
    'payer_member' as id_system,
    person_key,
    birth_date,
    -- DMG03 (X12 gender code): F female, M male, U unknown.
    case sex when 'M' then 8507 when 'F' then 8532 else 0 end as gender_concept_id,
    sex as gender_source_value,
    0 as race_concept_id,
    cast(null as text) as race_source_value,
    0 as ethnicity_concept_id,
    cast(null as text) as ethnicity_source_value,
    state,
    left(zip, 5) as zip5,
    cast(null as text) as county,
    city,
    cast(null as date) as death_date,
    cast(coalesce(group_created_at, interchange_created_at) as date) as demographics_as_of
from latest
