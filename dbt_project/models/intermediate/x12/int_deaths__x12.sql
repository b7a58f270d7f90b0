-- X12 claims carry no death dates: no rows (the shape of docs/adding_a_source.md,
-- returning nothing).
select
    cast(null as text) as person_key,
    cast(null as date) as death_date,
    cast(null as integer) as death_type_concept_id
where false
