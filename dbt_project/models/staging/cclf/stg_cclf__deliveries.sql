-- One row per landed CCLF package (delivery unit). Only loads with status 'landed'
-- reach the models: a package rejected on landing or by gate 1 flows nowhere.
select
    load_id,
    unit_name as package_name,
    cast(detail ->> 'delivery_date' as date) as delivery_date,
    -- IP §3: a monthly delivery reports the calendar month before it is sent.
    cast(date_trunc('month', cast(detail ->> 'delivery_date' as date)) - interval '1 month'
         as date) as reporting_month,
    coalesce(cast(detail ->> 'is_runout' as boolean), false) as is_runout,
    detail ->> 'aco_id' as aco_id,
    detail ->> 'performance_year' as performance_year
from {{ source('etl', 'load') }}
where source = 'cclf' and status = 'landed'
