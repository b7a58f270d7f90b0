"""Claims (CMS CCLF, X12 837/835) and EHR (FHIR R4) extracts into OMOP CDM v5.4 on PostgreSQL."""

__version__ = "0.1.0"
