-- One row per identifier that CCLF9 says was replaced, with the beneficiary's current
-- MBI (IP §3.1 and §5.1.1: replace every previous MBI with the most recent one).
-- Chains (A→B, B→C) resolve to their end; self-maps are ignored; when two deliveries
-- disagree about a previous identifier, the newest delivery wins.
with recursive latest_pairs as (
    select distinct on (prvs_num)
        prvs_num as previous_mbi,
        crnt_num as next_mbi
    from {{ ref('stg_cclf__beneficiary_xref') }}
    where prvs_num is not null
        and crnt_num is not null
        and prvs_num <> crnt_num
    order by prvs_num, delivery_date desc, line_number desc
),

chains (previous_mbi, current_mbi, depth) as (
    select previous_mbi, next_mbi, 1
    from latest_pairs
    union all
    select chains.previous_mbi, latest_pairs.next_mbi, chains.depth + 1
    from chains
    inner join latest_pairs on chains.current_mbi = latest_pairs.previous_mbi
    -- A cycle in the crosswalk would never end; 20 hops is far beyond any real chain.
    where chains.depth < 20
)

select distinct on (previous_mbi)
    previous_mbi as mbi,
    current_mbi
from chains
order by previous_mbi, depth desc
