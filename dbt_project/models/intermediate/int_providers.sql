-- One row per provider NPI seen on a visit or event.
select
    row_number() over (order by npi) as provider_id,
    npi
from (
    select provider_npi as npi from {{ ref('int_visits') }} where provider_npi is not null
    union
    select provider_npi from {{ ref('int_events') }} where provider_npi is not null
) as npis
