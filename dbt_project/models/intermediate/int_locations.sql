-- One row per distinct address area of a person (state, ZIP, county, city).
select
    row_number() over (order by state, zip5, county, city) as location_id,
    state,
    zip5,
    county,
    city
from (select distinct state, zip5, county, city from {{ ref('int_persons') }}) as areas
