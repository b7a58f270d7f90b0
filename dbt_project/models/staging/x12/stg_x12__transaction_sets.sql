-- One row per transaction set (ST…SE) of a landed X12 file. Only loads with status
-- 'landed' reach the models; a set delivered again with identical content (same digest,
-- in another file or the same one) counts once: its first landing is kept.
with landed as (
    select sets.*
    from {{ source('stg_x12', 'transaction_sets') }} as sets
    inner join {{ source('etl', 'load') }} as loads
        on sets.load_id = loads.load_id
    where loads.source = 'x12' and loads.status = 'landed'
)

select distinct on (set_digest) *
from landed
order by set_digest, load_id, set_position
