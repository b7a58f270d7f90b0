-- One row per OMOP person: the demographics of every source key linked to the person
-- (etl.person_crosswalk), each attribute from the source that knows it best
-- (docs/linkage.md, "Demographics across sources"):
-- * birth date, sex and death date: CCLF8 (CMS enrollment), then the EHR (FHIR), then
--   837s; the first source with a known value wins.
-- * race and ethnicity: the EHR (self-reported, US Core), then CCLF8 (RTI race code),
--   then 837s (which carry none); unknown (0) never overrides a known value.
-- * location: the most recently received address, whichever source sent it.
-- * person_source_value and `source`: the key of the birth-date source (the CCLF current
--   MBI when CMS knows the person).
-- Within one source (two Patient records of one person) the most recent record wins.
with persons as (
    {{ union_source_models('int_persons') }}
),

linked as (
    select
        crosswalk.person_id,
        persons.*,
        case persons.source when 'cclf' then 1 when 'fhir' then 2 when 'x12' then 3 else 9 end
            as enrollment_rank,
        case persons.source when 'fhir' then 1 when 'cclf' then 2 when 'x12' then 3 else 9 end
            as self_report_rank
    from persons
    inner join {{ source('etl', 'person_crosswalk') }} as crosswalk
        on crosswalk.source = persons.source
        and crosswalk.id_system = persons.id_system
        and crosswalk.id_value = persons.person_key
),

base as (
    select distinct on (person_id) *
    from linked
    order by person_id, enrollment_rank, demographics_as_of desc nulls last, person_key
),

gender as (
    select distinct on (person_id) person_id, gender_concept_id, gender_source_value
    from linked
    order by person_id, gender_concept_id = 0, enrollment_rank, demographics_as_of desc nulls last,
        person_key
),

race as (
    select distinct on (person_id) person_id, race_concept_id, race_source_value
    from linked
    order by person_id, race_concept_id = 0, race_source_value is null, self_report_rank,
        demographics_as_of desc nulls last, person_key
),

ethnicity as (
    select distinct on (person_id) person_id, ethnicity_concept_id, ethnicity_source_value
    from linked
    order by person_id, ethnicity_concept_id = 0, ethnicity_source_value is null,
        self_report_rank, demographics_as_of desc nulls last, person_key
),

death as (
    select distinct on (person_id) person_id, death_date
    from linked
    order by person_id, death_date is null, enrollment_rank, demographics_as_of desc nulls last,
        person_key
),

place as (
    select distinct on (person_id) person_id, state, zip5, county, city
    from linked
    order by person_id, (zip5 is null and nullif(state, '') is null), demographics_as_of desc nulls last,
        enrollment_rank, person_key
),

sources as (
    select person_id, string_agg(distinct source, ',' order by source) as sources
    from linked
    group by person_id
)

select
    base.person_id,
    base.source,
    base.id_system,
    base.person_key,
    base.birth_date,
    gender.gender_concept_id,
    gender.gender_source_value,
    race.race_concept_id,
    race.race_source_value,
    ethnicity.ethnicity_concept_id,
    ethnicity.ethnicity_source_value,
    place.state,
    place.zip5,
    place.county,
    place.city,
    death.death_date,
    sources.sources
from base
inner join gender using (person_id)
inner join race using (person_id)
inner join ethnicity using (person_id)
inner join death using (person_id)
inner join place using (person_id)
inner join sources using (person_id)
