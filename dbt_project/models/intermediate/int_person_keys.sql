-- One row per identifier of a source person across every enabled source: the person's key
-- in its source (key_system, person_key) and one identifier (id_system, id_value) it
-- carries, the key itself included. `etl` (etl/identity.py) links source persons that
-- share an identifier, or whose linkage tokens agree, and keeps their person_ids in
-- etl.person_crosswalk before the OMOP models build (docs/linkage.md).
-- The linkage demographics build in the same phase, for the tokens:
-- depends_on: {{ ref('int_person_demographics') }}
{{ union_source_models('int_person_keys') }}
