-- One row per source identifier of a person across every enabled source; `etl` assigns
-- and keeps person_ids for these in etl.person_crosswalk before the OMOP models build.
{{ union_source_models('int_person_keys') }}
