-- The release date of the FHIR data landed: the latest export's transactionTime (Bulk
-- Data manifest: the server state the export reflects), else the day the export was
-- landed (Bundles come without a manifest). For OMOP cdm_source.source_release_date. One
-- row; null when no export has landed.
select cast(max(coalesce(transaction_time, landed_at)) as date) as released_on
from {{ ref('stg_fhir__loads') }}
