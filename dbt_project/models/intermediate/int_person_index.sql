-- One row per (source, person key) that belongs to an OMOP person: how events find their
-- person_id. Only the keys a source files its records under (and, for CCLF, previous MBIs)
-- are listed, not the cross-source identifiers (a FHIR Patient's MBI or MRN). Keys of
-- people who are not OMOP persons (no demographics) are absent.
select distinct
    crosswalk.source,
    crosswalk.id_value as person_key,
    crosswalk.person_id
from {{ source('etl', 'person_crosswalk') }} as crosswalk
inner join {{ ref('int_persons') }} as persons on crosswalk.person_id = persons.person_id
where crosswalk.link_method in ('source_key', 'source_alias')
