{{ config(
    materialized='table',
    indexes=[{'columns': ['resource_type', 'resource_id'], 'unique': true}]
) }}
-- One row per FHIR resource (type + id) in its current version. A resource delivered
-- again (a later export, a history Bundle) is the same resource: the version with the
-- latest meta.lastUpdated wins; without one, the export's transactionTime (else the
-- landing time) stands in, so a later export wins over an earlier one. Ties go to the
-- later load, file and line. A current version that is a deletion, or is marked
-- entered-in-error (FHIR R4 status / verificationStatus; HL7 FHIR-to-OMOP IG: such
-- records are not mapped), removes the resource.
with versions as (
    select
        resources.load_id,
        resources.file_name,
        resources.line_number,
        resources.resource_type,
        resources.resource_id,
        resources.last_updated,
        resources.version_id,
        resources.is_deleted,
        resources.resource,
        loads.transaction_time,
        coalesce(resources.last_updated, loads.transaction_time, loads.landed_at) as as_of,
        row_number() over (
            partition by resources.resource_type, resources.resource_id
            order by coalesce(resources.last_updated, loads.transaction_time, loads.landed_at)
                desc, resources.load_id desc, resources.file_name desc,
                resources.line_number desc, resources.is_deleted desc
        ) as recency
    from {{ source('stg_fhir', 'resources') }} as resources
    inner join {{ ref('stg_fhir__loads') }} as loads on resources.load_id = loads.load_id
)

select
    load_id,
    file_name,
    line_number,
    resource_type,
    resource_id,
    last_updated,
    version_id,
    transaction_time,
    as_of,
    cast(as_of as date) as as_of_date,
    resource
from versions
where recency = 1
    and not is_deleted
    and resource ->> 'status' is distinct from 'entered-in-error'
    and not resource @? '$.verificationStatus.coding[*] ? (@.code == "entered-in-error")'
