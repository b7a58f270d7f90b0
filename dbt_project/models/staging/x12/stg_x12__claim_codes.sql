-- 837 claim codes of landed transaction sets (first copy of each set), typed on landing;
-- here only restricted to kept sets.
select landed.*
from {{ source('stg_x12', 'claim_codes') }} as landed
inner join {{ ref('stg_x12__transaction_sets') }} as sets
    on landed.load_id = sets.load_id
    and landed.set_position = sets.set_position
