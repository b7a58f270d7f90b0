-- 837 claims of landed transaction sets (first copy of each set), typed on landing;
-- here only restricted to kept sets and tagged with their group and interchange times,
-- which order the versions of a claim (docs/x12_mapping.md).
select
    sets.group_created_at,
    sets.interchange_created_at,
    landed.*
from {{ source('stg_x12', 'claims') }} as landed
inner join {{ ref('stg_x12__transaction_sets') }} as sets
    on landed.load_id = sets.load_id
    and landed.set_position = sets.set_position
