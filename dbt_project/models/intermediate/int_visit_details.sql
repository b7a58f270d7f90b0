-- One row per visit_detail across sources, with its parent visit's ids.
with details as (
    {{ union_source_models('int_visit_details') }}
)

select
    row_number() over (order by details.source, details.visit_detail_key) as visit_detail_id,
    visits.visit_occurrence_id,
    visits.person_id,
    details.*
from details
inner join {{ ref('int_visits') }} as visits
    on details.source = visits.source and details.visit_key = visits.visit_key
