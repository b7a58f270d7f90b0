"""FHIR R4: Bulk Data exports and Bundles, the Bulk Data client, synthetic exports.

Everything FHIR-specific on the Python side lives in this package; the mapping to OMOP
is dbt's (dbt_project/models/*/fhir, docs/fhir_mapping.md).
"""

from etl.sources.fhir.cli import fetch_fhir, synth_fhir
from etl.sources.fhir.source import FhirSource

SOURCE = FhirSource()
CLI_COMMANDS = {"fetch": [fetch_fhir], "synth": [synth_fhir]}
