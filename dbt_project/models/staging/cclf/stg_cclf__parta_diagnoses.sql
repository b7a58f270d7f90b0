-- CCLF4 (one row per Part A diagnosis code as delivered), typed on landing from the IP v38 layout; here
-- only restricted to landed deliveries and tagged with the delivery's dates.
select
    deliveries.delivery_date,
    deliveries.reporting_month,
    deliveries.is_runout,
    landed.*
from {{ source('stg_cclf', 'parta_diagnoses') }} as landed
inner join {{ ref('stg_cclf__deliveries') }} as deliveries
    on landed.load_id = deliveries.load_id
