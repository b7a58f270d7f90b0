-- The release date of the CCLF data landed: the delivery date of the latest package (IP
-- v38 §4.2, the D-part of the file name: when CMS produced the extract), for OMOP
-- cdm_source.source_release_date. One row; null when no package has landed.
select max(delivery_date) as released_on
from {{ ref('stg_cclf__deliveries') }}
