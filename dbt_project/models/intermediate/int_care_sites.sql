-- One row per facility (care site) a visit names, e.g. a CCLF billing provider OSCAR.
select
    row_number() over (order by source, care_site_key) as care_site_id,
    source,
    care_site_key
from (
    select distinct source, care_site_key from {{ ref('int_visits') }}
    where care_site_key is not null
) as sites
