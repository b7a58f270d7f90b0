-- One row per FHIR code system URI whose codes int_code_map can look up, with its OMOP
-- vocabulary_id (HL7 FHIR R4 terminology, "External terminologies"; HL7 FHIR-to-OMOP IG,
-- CodeableConcept pattern; the OIDs C-CDA-derived FHIR uses; the CMS Blue Button code
-- systems of BFD/BCDA). `preference` orders codings of one CodeableConcept after the
-- mapping tests of int_codings__fhir: standard vocabularies first.
select fhir_system, code_system, preference
from (values
    ('http://snomed.info/sct', 'SNOMED', 1),
    ('urn:oid:2.16.840.1.113883.6.96', 'SNOMED', 1),
    ('http://loinc.org', 'LOINC', 1),
    ('urn:oid:2.16.840.1.113883.6.1', 'LOINC', 1),
    ('http://www.nlm.nih.gov/research/umls/rxnorm', 'RxNorm', 1),
    ('urn:oid:2.16.840.1.113883.6.88', 'RxNorm', 1),
    ('http://hl7.org/fhir/sid/cvx', 'CVX', 2),
    ('urn:oid:2.16.840.1.113883.12.292', 'CVX', 2),
    ('http://hl7.org/fhir/sid/ndc', 'NDC', 3),
    ('urn:oid:2.16.840.1.113883.6.69', 'NDC', 3),
    ('http://hl7.org/fhir/sid/icd-10-cm', 'ICD10CM', 3),
    ('urn:oid:2.16.840.1.113883.6.90', 'ICD10CM', 3),
    ('http://www.cms.gov/Medicare/Coding/ICD10', 'ICD10PCS', 3),
    ('urn:oid:2.16.840.1.113883.6.4', 'ICD10PCS', 3),
    ('http://hl7.org/fhir/sid/icd-9-cm', 'ICD9CM', 4),
    ('urn:oid:2.16.840.1.113883.6.103', 'ICD9CM', 4),
    ('urn:oid:2.16.840.1.113883.6.104', 'ICD9Proc', 4),
    ('http://hl7.org/fhir/sid/icd-10', 'ICD10', 5),
    ('http://www.ama-assn.org/go/cpt', 'HCPCS', 3),
    ('urn:oid:2.16.840.1.113883.6.12', 'HCPCS', 3),
    ('urn:oid:2.16.840.1.113883.6.285', 'HCPCS', 3),
    ('http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets', 'HCPCS', 3),
    ('https://bluebutton.cms.gov/resources/codesystem/hcpcs', 'HCPCS', 3),
    ('https://bluebutton.cms.gov/resources/variables/hcpcs_cd', 'HCPCS', 4),
    ('http://unitsofmeasure.org', 'UCUM', 6)
) as systems (fhir_system, code_system, preference)
