-- One row per distinct address area of a person (state, ZIP, county FIPS); the city is
-- the first one seen for that area.
select
    row_number() over (order by state, zip5, county) as location_id,
    state,
    zip5,
    county,
    city
from (
    select state, zip5, county, min(city) as city
    from {{ ref('int_persons') }}
    group by state, zip5, county
) as areas
