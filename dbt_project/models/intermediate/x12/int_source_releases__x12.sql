-- The release date of the X12 data landed: the latest functional group creation date
-- (GS04), else interchange date (ISA09), of a landed transaction set: when the sender
-- produced the file. For OMOP cdm_source.source_release_date. One row; null when no
-- file has landed.
select cast(max(coalesce(group_created_at, interchange_created_at)) as date) as released_on
from {{ ref('stg_x12__transaction_sets') }}
