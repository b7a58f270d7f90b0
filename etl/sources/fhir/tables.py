"""The one landing table of the FHIR source: every resource as JSONB with its keys.

FHIR resources are nested documents whose shape varies by type and profile, so they land
whole (`resource jsonb`) with the few keys the staging models need to pick the current
version of each resource (type, id, meta.lastUpdated, meta.versionId). Fields are
extracted in dbt (dbt_project/models/staging/fhir/), never here.
"""

from __future__ import annotations

from etl.sources.base import StagingColumn, StagingTable

RESOURCES = StagingTable(
    name="resources",
    description=(
        "One row per FHIR resource (or deletion) as delivered: a line of a Bulk Data "
        "NDJSON file, or an entry of a Bundle; line_number is the line, or the entry's "
        "1-based position in the Bundle."
    ),
    columns=(
        StagingColumn("resource_type", "text", "Resource.resourceType",
                      "FHIR R4 Resource.resourceType", required=True),
        StagingColumn("resource_id", "text", "Resource.id (logical id)",
                      "FHIR R4 Resource.id; for a Bundle entry without one, the last "
                      "segment of Bundle.entry.fullUrl", required=True),
        StagingColumn("last_updated", "timestamptz", "Resource.meta.lastUpdated",
                      "FHIR R4 Meta.lastUpdated; null when absent or not an instant"),
        StagingColumn("version_id", "text", "Resource.meta.versionId",
                      "FHIR R4 Meta.versionId"),
        StagingColumn("is_deleted", "boolean",
                      "True for a deletion (a Bundle entry with request.method DELETE, or "
                      "a Bulk Data `deleted` file entry): the resource is gone from the source",
                      "FHIR R4 Bundle.entry.request.method; Bulk Data IG v2 manifest.deleted",
                      required=True),
        StagingColumn("resource", "jsonb", "The resource as delivered (null for a deletion)",
                      "FHIR R4 JSON representation"),
    ),
)

STAGING_TABLES = (RESOURCES,)
