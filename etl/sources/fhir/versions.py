"""Telling FHIR R4 from STU3 by the resources themselves.

Bulk output carries no FHIR version, and BCDA v1 (STU3) and v2/v3 (R4) files share names,
so the version is read from elements STU3 has and R4 renamed or retyped (FHIR R4
"Resource differences from STU3"). A resource without such an element says nothing; one
with it is STU3 and the whole delivery is refused, since STU3 Coverage, Condition or
ExplanationOfBenefit read as R4 would map to wrong or empty OMOP rows without an error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Resource = dict[str, Any]


def _has(element: str) -> Callable[[Resource], bool]:
    return lambda resource: element in resource


def _is_text(element: str) -> Callable[[Resource], bool]:
    # R4 made Condition/AllergyIntolerance clinicalStatus and verificationStatus
    # CodeableConcepts; in STU3 they are plain codes (JSON strings).
    return lambda resource: isinstance(resource.get(element), str)


def _item_has(element: str) -> Callable[[Resource], bool]:
    def check(resource: Resource) -> bool:
        items = resource.get("item")
        return isinstance(items, list) and any(
            isinstance(item, dict) and element in item for item in items
        )

    return check


# resourceType -> (STU3 element, what R4 has instead, test)
_MARKERS: dict[str, tuple[tuple[str, str, Callable[[Resource], bool]], ...]] = {
    "Coverage": (("Coverage.grouping", "Coverage.class", _has("grouping")),),
    "ExplanationOfBenefit": (
        ("ExplanationOfBenefit.information", "ExplanationOfBenefit.supportingInfo",
         _has("information")),
        ("ExplanationOfBenefit.organization", "ExplanationOfBenefit.provider",
         _has("organization")),
        ("ExplanationOfBenefit.item.service", "ExplanationOfBenefit.item.productOrService",
         _item_has("service")),
    ),
    "Condition": (
        ("Condition.clinicalStatus as a code", "a CodeableConcept",
         _is_text("clinicalStatus")),
        ("Condition.verificationStatus as a code", "a CodeableConcept",
         _is_text("verificationStatus")),
        ("Condition.context", "Condition.encounter", _has("context")),
        ("Condition.assertedDate", "Condition.recordedDate", _has("assertedDate")),
    ),
    "AllergyIntolerance": (
        ("AllergyIntolerance.clinicalStatus as a code", "a CodeableConcept",
         _is_text("clinicalStatus")),
        ("AllergyIntolerance.verificationStatus as a code", "a CodeableConcept",
         _is_text("verificationStatus")),
        ("AllergyIntolerance.assertedDate", "AllergyIntolerance.recordedDate",
         _has("assertedDate")),
    ),
    "Procedure": (
        ("Procedure.notDone", "Procedure.status 'not-done'", _has("notDone")),
        ("Procedure.context", "Procedure.encounter", _has("context")),
    ),
    "Observation": (("Observation.context", "Observation.encounter", _has("context")),),
    "MedicationRequest": (
        ("MedicationRequest.context", "MedicationRequest.encounter", _has("context")),
    ),
    "MedicationStatement": (
        ("MedicationStatement.taken", "MedicationStatement.status", _has("taken")),
    ),
    "Immunization": (
        ("Immunization.notGiven", "Immunization.status 'not-done'", _has("notGiven")),
        ("Immunization.date", "Immunization.occurrence[x]", _has("date")),
    ),
    "Encounter": (("Encounter.incomingReferral", "Encounter.basedOn",
                   _has("incomingReferral")),),
}


def stu3_marker(resource: Resource) -> str | None:
    """A sentence naming the STU3-only element `resource` carries, or None."""
    for element, r4_instead, test in _MARKERS.get(resource.get("resourceType", ""), ()):
        if test(resource):
            return f"{element} is FHIR STU3 (R4 has {r4_instead})"
    return None
