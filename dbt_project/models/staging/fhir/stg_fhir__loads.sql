-- One row per landed FHIR delivery unit (an export folder). Only loads with status
-- 'landed' reach the models: a unit rejected on landing flows nowhere.
select
    load_id,
    unit_name as export_name,
    -- Bulk Data manifest transactionTime: the server state the export reflects.
    cast(detail ->> 'transaction_time' as timestamptz) as transaction_time,
    started_at as landed_at
from {{ source('etl', 'load') }}
where source = 'fhir' and status = 'landed'
