-- One row per distinct set of linkage demographics (name, sex, birth date, ZIP) of a
-- source person across every enabled source, as received. Read only by `etl` to compute
-- the keyed linkage tokens (etl/linkage/tokens.py); no OMOP model reads it.
{{ union_source_models('int_person_demographics') }}
