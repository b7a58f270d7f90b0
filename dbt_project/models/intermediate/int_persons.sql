-- One row per OMOP person: source demographics joined to their persistent person_id.
-- When several sources know one person, the first source in var('omop_sources') order
-- gives the demographics (precedence documented in docs/cclf_mapping.md).
with persons as (
    {{ union_source_models('int_persons') }}
),

ranked as (
    select
        crosswalk.person_id,
        persons.*,
        row_number() over (partition by crosswalk.person_id order by persons.source) as precedence
    from persons
    inner join {{ source('etl', 'person_crosswalk') }} as crosswalk
        on crosswalk.source = persons.source
        and crosswalk.id_system = persons.id_system
        and crosswalk.id_value = persons.person_key
)

select * from ranked where precedence = 1
