"""The staging tables of schema stg_x12: one per entity, each column with its TR3 source.

Every table starts with the lineage columns the landing adds (load_id, file_name,
line_number = the file segment position of the row's first segment). Positions
(`set_position`, `claim_position`, `clp_position`, ...) are file segment positions
too: with load_id they identify a set, claim or payment and join the tables.

Kinds and their PostgreSQL types: text, int (integer), date (X12 D8 CCYYMMDD),
timestamp (date and time of an envelope or BHT), money (numeric(18,2); X12 amounts
carry at most two decimals), quantity (numeric(15,3)).
"""

from __future__ import annotations

from dataclasses import dataclass

from etl.sources.base import StagingColumn, StagingTable

SCHEMA = "stg_x12"
PG_TYPES = {
    "text": "text",
    "int": "integer",
    "date": "date",
    "timestamp": "timestamp",
    "money": "numeric(18,2)",
    "quantity": "numeric(15,3)",
}
KINDS = {pg: kind for kind, pg in PG_TYPES.items()}


def _c(name: str, kind: str, spec_ref: str, description: str, code_format: str | None = None,
       required: bool = False) -> StagingColumn:
    return StagingColumn(name, PG_TYPES[kind], description, spec_ref, required, code_format)


def kind_of(column: StagingColumn) -> str:
    return KINDS[column.pg_type]


@dataclass(frozen=True)
class X12Table:
    """A staging table plus the column whose value owns a row: a row that fails typing
    quarantines every row of the same owner (the whole claim or claim payment)."""

    table: StagingTable
    owner: str

    @property
    def name(self) -> str:
        return self.table.name


_SET = _c("set_position", "int", "ST", "File segment position of the ST segment of the "
          "transaction set the row belongs to.", required=True)
_CLAIM = _c("claim_position", "int", "2300 CLM", "File segment position of the claim's CLM "
            "segment: with load_id it identifies the 837 claim.", required=True)
_CLP = _c("clp_position", "int", "2100 CLP", "File segment position of the CLP segment: with "
          "load_id it identifies the 835 claim payment.", required=True)


def _name_columns(prefix: str, loop: str, person: bool = True) -> list[StagingColumn]:
    columns = [_c(f"{prefix}_last_name", "text", f"{loop} NM103",
                  "Last name, or organization name.")]
    if person:
        columns += [
            _c(f"{prefix}_first_name", "text", f"{loop} NM104", "First name."),
            _c(f"{prefix}_middle_name", "text", f"{loop} NM105", "Middle name or initial."),
            _c(f"{prefix}_name_suffix", "text", f"{loop} NM107", "Name suffix (JR, III)."),
        ]
    return columns


def _address_columns(prefix: str, loop: str) -> list[StagingColumn]:
    return [
        _c(f"{prefix}_address_1", "text", f"{loop} N301", "Address line 1."),
        _c(f"{prefix}_address_2", "text", f"{loop} N302", "Address line 2."),
        _c(f"{prefix}_city", "text", f"{loop} N401", "City."),
        _c(f"{prefix}_state", "text", f"{loop} N402", "State or province code."),
        _c(f"{prefix}_zip", "text", f"{loop} N403", "Postal code (ZIP or ZIP+4)."),
    ]


def _provider_columns(prefix: str, what: str, loops: str,
                      taxonomy: str | None = None) -> list[StagingColumn]:
    columns = [
        _c(f"{prefix}_npi", "text", f"{loops} NM109 (NM108 = XX)",
           f"{what} National Provider Identifier.", "npi"),
        _c(f"{prefix}_name", "text", f"{loops} NM103-NM104", f"{what} name (last, first)."),
    ]
    if taxonomy:
        columns.append(_c(f"{prefix}_taxonomy", "text", f"{taxonomy} PRV03",
                          f"{what} NUCC provider taxonomy code."))
    return columns


TRANSACTION_SETS = X12Table(StagingTable(
    "transaction_sets",
    "One row per transaction set (ST…SE) accepted on landing, with its envelope.",
    (
        _SET,
        _c("transaction_type", "text", "ST01 + ST03/GS08",
           "837P (005010X222), 837I (005010X223) or 835 (005010X221).", required=True),
        _c("implementation_guide", "text", "ST03 or GS08", "TR3 version id, e.g. 005010X222A1."),
        _c("set_control_number", "text", "ST02", "Transaction set control number."),
        _c("declared_segment_count", "text", "SE01", "Segment count the SE trailer states."),
        _c("segment_count", "int", "ST…SE", "Segments counted from ST to SE."),
        _c("last_position", "int", "SE", "File segment position of the SE segment."),
        _c("set_digest", "text", "ST…SE", "SHA-256 of the set's segments, delimiter-"
           "independent: the same set delivered again has the same digest.", required=True),
        _c("interchange_control_number", "text", "ISA13", "Interchange control number."),
        _c("interchange_sender_qualifier", "text", "ISA05", "Sender id qualifier."),
        _c("interchange_sender_id", "text", "ISA06", "Interchange sender id."),
        _c("interchange_receiver_qualifier", "text", "ISA07", "Receiver id qualifier."),
        _c("interchange_receiver_id", "text", "ISA08", "Interchange receiver id."),
        _c("interchange_created_at", "timestamp", "ISA09-ISA10", "Interchange date and time."),
        _c("usage_indicator", "text", "ISA15", "P production, T test."),
        _c("group_control_number", "text", "GS06", "Functional group control number."),
        _c("functional_id", "text", "GS01", "HC (837) or HP (835)."),
        _c("application_sender", "text", "GS02", "Application sender's code."),
        _c("application_receiver", "text", "GS03", "Application receiver's code."),
        _c("group_created_at", "timestamp", "GS04-GS05", "Functional group date and time."),
        _c("bht_purpose", "text", "837 BHT02", "00 original, 18 reissue."),
        _c("bht_reference", "text", "837 BHT03", "Originator application transaction id."),
        _c("bht_created_at", "timestamp", "837 BHT04-BHT05", "Transaction creation date and time."),
        _c("bht_claim_type", "text", "837 BHT06", "CH chargeable, RP reporting (encounter), "
           "31 subrogation demand."),
        _c("submitter_name", "text", "837 1000A NM103", "Submitter name."),
        _c("submitter_id", "text", "837 1000A NM109", "Submitter identifier."),
        _c("receiver_name", "text", "837 1000B NM103", "Receiver name."),
        _c("receiver_id", "text", "837 1000B NM109", "Receiver identifier."),
        _c("warnings", "text", "", "Problems kept as warnings (lenient control checks, HL "
           "numbering), '; '-separated."),
    ),
), owner="set_position")

CLAIMS = X12Table(StagingTable(
    "claims",
    "One row per 837 claim (loop 2300) with its billing provider, subscriber, patient and "
    "payer (loops 2000A-2010CA) and its claim-level providers (2310x).",
    (
        _SET,
        _CLAIM,
        _c("transaction_type", "text", "ST03/GS08", "837P or 837I.", required=True),
        _c("billing_provider_entity_type", "text", "2010AA NM102", "1 person, 2 organization."),
        _c("billing_provider_npi", "text", "2010AA NM109 (NM108 = XX)",
           "Billing provider NPI.", "npi"),
        _c("billing_provider_name", "text", "2010AA NM103-NM104", "Billing provider name."),
        _c("billing_provider_tax_id", "text", "2010AA REF02 (REF01 = EI/SY)",
           "Billing provider EIN or SSN."),
        _c("billing_provider_taxonomy", "text", "2000A PRV03", "Billing provider taxonomy."),
        *_address_columns("billing_provider", "2010AA"),
        *_address_columns("pay_to", "2010AB"),
        _c("pay_to_plan_name", "text", "2010AC NM103", "Pay-to plan name."),
        _c("pay_to_plan_id", "text", "2010AC NM109", "Pay-to plan identifier."),
        _c("payer_responsibility", "text", "2000B SBR01", "P primary, S secondary, T tertiary, "
           "A-H payer 4-11, U unknown."),
        _c("subscriber_relationship", "text", "2000B SBR02", "18 when the subscriber is the "
           "patient."),
        _c("group_number", "text", "2000B SBR03", "Insured group or policy number."),
        _c("group_name", "text", "2000B SBR04", "Insured group name."),
        _c("insurance_type", "text", "2000B SBR05", "Insurance type code (Medicare secondary)."),
        _c("claim_filing_indicator", "text", "2000B SBR09", "Claim filing indicator (CI "
           "commercial, MB Medicare Part B, MC Medicaid, ...)."),
        _c("subscriber_id_qualifier", "text", "2010BA NM108", "MI member id, II unique health id."),
        _c("subscriber_id", "text", "2010BA NM109", "Subscriber (member) identifier."),
        *_name_columns("subscriber", "2010BA"),
        *_address_columns("subscriber", "2010BA"),
        _c("subscriber_birth_date", "date", "2010BA DMG02", "Subscriber birth date."),
        _c("subscriber_sex", "text", "2010BA DMG03", "F, M or U."),
        _c("payer_name", "text", "2010BB NM103", "Payer name."),
        _c("payer_id_qualifier", "text", "2010BB NM108", "PI payer id, XV CMS plan id."),
        _c("payer_id", "text", "2010BB NM109", "Payer identifier."),
        _c("patient_relationship", "text", "2000C PAT01", "Patient's relationship to the "
           "subscriber (01 spouse, 19 child, ...); null when the subscriber is the patient."),
        *_name_columns("patient", "2010CA"),
        *_address_columns("patient", "2010CA"),
        _c("patient_birth_date", "date", "2010CA DMG02", "Patient birth date."),
        _c("patient_sex", "text", "2010CA DMG03", "F, M or U."),
        _c("patient_control_number", "text", "2300 CLM01", "Patient control number assigned "
           "by the provider; an 835 CLP01 repeats it.", required=True),
        _c("total_charge", "money", "2300 CLM02", "Total claim charge amount."),
        _c("facility_code", "text", "2300 CLM05-1", "837P place of service (CMS POS code); "
           "837I facility type code (first two digits of the type of bill)."),
        _c("facility_code_qualifier", "text", "2300 CLM05-2", "B place of service, A uniform "
           "billing claim form bill type."),
        _c("frequency_code", "text", "2300 CLM05-3", "1 original, 7 replacement of a prior "
           "claim, 8 void/cancel of a prior claim (NUBC claim frequency)."),
        _c("provider_signature", "text", "2300 CLM06", "Provider signature on file (Y/N)."),
        _c("assignment_code", "text", "2300 CLM07", "Assignment or plan participation code."),
        _c("benefits_assignment", "text", "2300 CLM08", "Benefits assignment certification."),
        _c("release_of_information", "text", "2300 CLM09", "Release of information code."),
        _c("statement_from", "date", "837I 2300 DTP*434 (RD8 from)", "Statement covers from."),
        _c("statement_to", "date", "837I 2300 DTP*434 (RD8 to)", "Statement covers through."),
        _c("admission_date", "date", "2300 DTP*435", "Admission date (D8, or DT truncated)."),
        _c("discharge_date", "date", "837P 2300 DTP*096", "Discharge date (837P, D8)."),
        _c("discharge_hour", "text", "837I 2300 DTP*096", "Discharge hour (837I, TM HHMM)."),
        _c("onset_date", "date", "837P 2300 DTP*431", "Onset of current illness or symptom."),
        _c("admission_type", "text", "837I 2300 CL101", "Priority (type) of admission."),
        _c("admission_source", "text", "837I 2300 CL102", "Point of origin (admission source)."),
        _c("patient_status", "text", "837I 2300 CL103", "Patient discharge status."),
        _c("original_claim_reference", "text", "2300 REF02 (REF01 = F8)", "Payer claim control "
           "number of the claim a replacement (7) or void (8) refers to."),
        _c("medical_record_number", "text", "2300 REF02 (REF01 = EA)", "Medical record number."),
        _c("prior_authorization", "text", "2300 REF02 (REF01 = G1)", "Prior authorization."),
        _c("drg_code", "text", "837I 2300 HI*DR", "Diagnosis related group."),
        *_provider_columns("referring_provider", "Referring provider",
                           "837P 2310A / 837I 2310F"),
        *_provider_columns("rendering_provider", "Rendering provider",
                           "837P 2310B / 837I 2310D", "837P 2310B"),
        *_provider_columns("attending_provider", "Attending provider", "837I 2310A",
                           "837I 2310A"),
        *_provider_columns("operating_provider", "Operating physician", "837I 2310B"),
        *_provider_columns("other_operating_provider", "Other operating physician",
                           "837I 2310C"),
        *_provider_columns("supervising_provider", "Supervising provider", "837P 2310D"),
        _c("service_facility_npi", "text", "837P 2310C / 837I 2310E NM109",
           "Service facility location NPI.", "npi"),
        _c("service_facility_name", "text", "837P 2310C / 837I 2310E NM103",
           "Service facility location name."),
        _c("service_facility_zip", "text", "837P 2310C / 837I 2310E N403",
           "Service facility postal code."),
        _c("other_payer_count", "int", "2320 SBR", "Other payers named for coordination of "
           "benefits (loops 2320)."),
    ),
), owner="claim_position")

CLAIM_CODES = X12Table(StagingTable(
    "claim_codes",
    "One row per code of a claim's HI segments (2300 HI01-HI12): diagnoses, ICD "
    "procedures, DRG, condition, occurrence and value codes.",
    (
        _SET,
        _CLAIM,
        _c("code_sequence", "int", "2300 HI", "Order of the code within the claim (1-based)."),
        _c("qualifier", "text", "HIxx-1", "Code list qualifier (ABK, ABF, BK, BBR, DR, BG, ...)."),
        _c("code", "text", "HIxx-2", "The code as sent (ICD codes without the dot)."),
        _c("code_system", "text", "HIxx-1", "ICD10CM, ICD9CM, ICD10PCS, ICD9Proc, HCPCS, DRG, "
           "or NUBC for condition, occurrence and value codes."),
        _c("code_role", "text", "HIxx-1", "principal_diagnosis, admitting_diagnosis, "
           "reason_for_visit, external_cause, other_diagnosis, principal_procedure, "
           "other_procedure, drg, condition, occurrence, occurrence_span, value, treatment."),
        _c("date_format", "text", "HIxx-3", "D8 or RD8 when the code carries a date."),
        _c("code_date", "date", "HIxx-4", "Procedure or occurrence date (first date of RD8)."),
        _c("code_date_to", "date", "HIxx-4", "Last date of an RD8 occurrence span."),
        _c("amount", "money", "HIxx-5", "Value code amount."),
        _c("present_on_admission", "text", "HIxx-9", "POA indicator (Y, N, U, W, 1)."),
    ),
), owner="claim_position")

SERVICE_LINES = X12Table(StagingTable(
    "service_lines",
    "One row per 837 service line (loop 2400, SV1 or SV2) with its drug (2410) and "
    "line-level providers (2420x).",
    (
        _SET,
        _CLAIM,
        _c("line_position", "int", "2400 LX", "File segment position of the LX segment."),
        _c("assigned_number", "text", "2400 LX01", "Line number within the claim."),
        _c("service_kind", "text", "2400", "SV1 (professional) or SV2 (institutional)."),
        _c("revenue_code", "text", "837I 2400 SV201", "NUBC revenue code."),
        _c("product_qualifier", "text", "SV101-1 / SV202-1", "HC HCPCS/CPT, ER, IV, WK, HP HIPPS."),
        _c("procedure_code", "text", "SV101-2 / SV202-2", "Procedure code.", "hcpcs"),
        _c("modifier_1", "text", "SV101-3 / SV202-3", "Procedure modifier 1."),
        _c("modifier_2", "text", "SV101-4 / SV202-4", "Procedure modifier 2."),
        _c("modifier_3", "text", "SV101-5 / SV202-5", "Procedure modifier 3."),
        _c("modifier_4", "text", "SV101-6 / SV202-6", "Procedure modifier 4."),
        _c("description", "text", "SV101-7 / SV202-7", "Procedure description."),
        _c("line_charge", "money", "SV102 / SV203", "Line item charge amount."),
        _c("unit_basis", "text", "SV103 / SV204", "UN units, MJ minutes, DA days."),
        _c("units", "quantity", "SV104 / SV205", "Service unit count."),
        _c("place_of_service", "text", "837P SV105", "Line place of service (when it differs "
           "from the claim's)."),
        _c("diagnosis_pointers", "text", "837P SV107", "Pointers to the claim's diagnoses "
           "(1-12), comma-separated."),
        _c("emergency_indicator", "text", "837P SV109", "Y when an emergency."),
        _c("service_from", "date", "2400 DTP*472", "Service date (first date of RD8)."),
        _c("service_to", "date", "2400 DTP*472", "Service date (last date of RD8)."),
        _c("line_item_control_number", "text", "2400 REF02 (REF01 = 6R)", "Line item control "
           "number; the 835 SVC loop repeats it."),
        _c("ndc_qualifier", "text", "2410 LIN02", "N4 (NDC in 5-4-2 format)."),
        _c("ndc", "text", "2410 LIN03", "National Drug Code (11 digits).", "ndc"),
        _c("drug_quantity", "quantity", "2410 CTP04", "Drug unit count."),
        _c("drug_unit", "text", "2410 CTP05-1", "F2, GR, ME, ML or UN."),
        _c("prescription_number", "text", "2410 REF02 (REF01 = XZ/VY)", "Prescription or "
           "link sequence number."),
        *_provider_columns("rendering_provider", "Line rendering provider",
                           "837P 2420A / 837I 2420C", "837P 2420A"),
        *_provider_columns("operating_provider", "Line operating physician", "837I 2420A"),
        *_provider_columns("referring_provider", "Line referring provider",
                           "837P 2420F / 837I 2420D"),
        *_provider_columns("ordering_provider", "Ordering provider", "837P 2420E"),
        *_provider_columns("supervising_provider", "Line supervising provider", "837P 2420D"),
        _c("service_facility_npi", "text", "837P 2420C NM109", "Line service facility NPI.",
           "npi"),
    ),
), owner="claim_position")

REMITTANCES = X12Table(StagingTable(
    "remittances",
    "One row per 835 transaction set: the payment (BPR/TRN), payer (1000A) and payee (1000B).",
    (
        _SET,
        _c("handling_code", "text", "BPR01", "C payment with remittance, H notification only, "
           "I remittance only, P prenotification, U/X split payment."),
        _c("total_payment", "money", "BPR02", "Total actual provider payment."),
        _c("credit_debit", "text", "BPR03", "C credit, D debit."),
        _c("payment_method", "text", "BPR04", "ACH, BOP, CHK, FWT or NON."),
        _c("payment_date", "date", "BPR16", "Check issue or EFT effective date."),
        _c("trace_number", "text", "TRN02", "Check or EFT trace number."),
        _c("trace_originator", "text", "TRN03", "Payer identifier (1 + EIN)."),
        _c("receiver_id", "text", "REF02 (REF01 = EV)", "Receiver identification."),
        _c("production_date", "date", "DTM02 (DTM01 = 405)", "Production date."),
        _c("payer_name", "text", "1000A N102", "Payer name."),
        _c("payer_id_qualifier", "text", "1000A N103", "XV CMS plan id."),
        _c("payer_id", "text", "1000A N104", "Payer identifier."),
        _c("payer_identification", "text", "1000A REF02 (REF01 = 2U)", "Payer identification "
           "number (the id 837s carry in 2010BB)."),
        *_address_columns("payer", "1000A"),
        _c("payee_name", "text", "1000B N102", "Payee name."),
        _c("payee_id_qualifier", "text", "1000B N103", "XX NPI, FI federal tax id, XV plan id."),
        _c("payee_id", "text", "1000B N104", "Payee identifier."),
        _c("payee_tax_id", "text", "1000B REF02 (REF01 = TJ)", "Payee federal tax id."),
    ),
), owner="set_position")

CLAIM_PAYMENTS = X12Table(StagingTable(
    "claim_payments",
    "One row per 835 claim payment (loop 2100, CLP) with the patient and insured it names.",
    (
        _SET,
        _CLP,
        _c("header_number", "text", "2000 LX01", "Provider summary (header number) the claim "
           "payment is grouped under."),
        _c("patient_control_number", "text", "CLP01", "The 837 CLM01 of the claim paid.",
           required=True),
        _c("status_code", "text", "CLP02", "1/2/3 processed as primary/secondary/tertiary, "
           "4 denied, 19-21 processed and forwarded, 22 reversal of previous payment, 23 not "
           "our claim, 25 predetermination."),
        _c("total_charge", "money", "CLP03", "Total claim charge."),
        _c("paid", "money", "CLP04", "Claim payment amount."),
        _c("patient_responsibility", "money", "CLP05", "Patient responsibility amount."),
        _c("claim_filing_indicator", "text", "CLP06", "Claim filing indicator."),
        _c("payer_claim_control_number", "text", "CLP07", "Payer claim control number."),
        _c("facility_code", "text", "CLP08", "Place of service or facility type."),
        _c("frequency_code", "text", "CLP09", "Claim frequency code."),
        _c("drg_code", "text", "CLP11", "DRG code."),
        _c("drg_weight", "quantity", "CLP12", "DRG weight."),
        _c("patient_id_qualifier", "text", "NM108 (NM101 = QC)", "MI member id, HN HIC, ..."),
        _c("patient_id", "text", "NM109 (NM101 = QC)", "Patient identifier."),
        *_name_columns("patient", "2100 NM1*QC"),
        _c("insured_id_qualifier", "text", "NM108 (NM101 = IL)", "Insured id qualifier."),
        _c("insured_id", "text", "NM109 (NM101 = IL)", "Insured (subscriber) identifier."),
        *_name_columns("insured", "2100 NM1*IL"),
        _c("corrected_id", "text", "NM109 (NM101 = 74)", "Corrected insured identifier."),
        _c("rendering_provider_id_qualifier", "text", "NM108 (NM101 = 82)", "XX NPI, ..."),
        _c("rendering_provider_id", "text", "NM109 (NM101 = 82)", "Service provider id."),
        _c("statement_from", "date", "DTM02 (DTM01 = 232)", "Claim statement period start."),
        _c("statement_to", "date", "DTM02 (DTM01 = 233)", "Claim statement period end."),
        _c("received_date", "date", "DTM02 (DTM01 = 050)", "Claim received date."),
        _c("coverage_amount", "money", "AMT02 (AMT01 = AU)", "Coverage (allowed) amount."),
        _c("interest_amount", "money", "AMT02 (AMT01 = I)", "Interest."),
    ),
), owner="clp_position")

SERVICE_PAYMENTS = X12Table(StagingTable(
    "service_payments",
    "One row per 835 service line payment (loop 2110, SVC).",
    (
        _SET,
        _CLP,
        _c("svc_position", "int", "2110 SVC", "File segment position of the SVC segment."),
        _c("product_qualifier", "text", "SVC01-1", "HC HCPCS/CPT, AD, ER, HP, IV, N4, NU, WK."),
        _c("procedure_code", "text", "SVC01-2", "Procedure, revenue or drug code.", "hcpcs"),
        _c("modifier_1", "text", "SVC01-3", "Procedure modifier 1."),
        _c("modifier_2", "text", "SVC01-4", "Procedure modifier 2."),
        _c("modifier_3", "text", "SVC01-5", "Procedure modifier 3."),
        _c("modifier_4", "text", "SVC01-6", "Procedure modifier 4."),
        _c("description", "text", "SVC01-7", "Procedure description."),
        _c("line_charge", "money", "SVC02", "Line item charge amount."),
        _c("paid", "money", "SVC03", "Line item provider payment amount."),
        _c("revenue_code", "text", "SVC04", "NUBC revenue code."),
        _c("units_paid", "quantity", "SVC05", "Units of service paid."),
        _c("original_product_qualifier", "text", "SVC06-1", "Qualifier of the code submitted "
           "when the payer paid another one."),
        _c("original_procedure_code", "text", "SVC06-2", "Procedure code submitted."),
        _c("original_units", "quantity", "SVC07", "Units submitted (sent only when they "
           "differ from SVC05)."),
        _c("units_billed", "quantity", "SVC07, else SVC05", "Units submitted: SVC07 when "
           "given, else the paid units (TR3: SVC07 is sent when different from SVC05)."),
        _c("service_from", "date", "DTM02 (DTM01 = 472 or 150)", "Service date or period start."),
        _c("service_to", "date", "DTM02 (DTM01 = 472 or 151)", "Service date or period end."),
        _c("line_item_control_number", "text", "REF02 (REF01 = 6R)", "The 837 line item "
           "control number (2400 REF*6R)."),
        _c("location_number", "text", "REF02 (REF01 = LU)", "Location number."),
        _c("rendering_provider_npi", "text", "REF02 (REF01 = HPI)", "Rendering provider NPI.",
           "npi"),
        _c("allowed_amount", "money", "AMT02 (AMT01 = B6)", "Allowed amount (actual)."),
    ),
), owner="clp_position")

ADJUSTMENTS = X12Table(StagingTable(
    "adjustments",
    "One row per adjustment of a CAS segment (group + reason + amount triplet), at "
    "claim level (2100) or service line level (2110).",
    (
        _SET,
        _CLP,
        _c("svc_position", "int", "2110 SVC", "SVC position for a line-level adjustment; null "
           "for a claim-level one."),
        _c("adjustment_sequence", "int", "CAS", "Order of the triplet within its CAS (1-6)."),
        _c("group_code", "text", "CAS01", "CO contractual, CR correction/reversal, OA other, "
           "PI payer initiated, PR patient responsibility."),
        _c("reason_code", "text", "CAS02/05/08/11/14/17", "Claim adjustment reason code (PR 1 "
           "deductible, 2 coinsurance, 3 copay, CO 45 contractual, ...)."),
        _c("amount", "money", "CAS03/06/09/12/15/18", "Adjustment amount."),
        _c("quantity", "quantity", "CAS04/07/10/13/16/19", "Adjustment quantity."),
    ),
), owner="clp_position")

REMARKS = X12Table(StagingTable(
    "remarks",
    "One row per remark code: claim level (2100 MOA03-07) or line level (2110 LQ).",
    (
        _SET,
        _CLP,
        _c("svc_position", "int", "2110 SVC", "SVC position for a line remark; null for claim."),
        _c("qualifier", "text", "LQ01", "HE claim payment remark code, RX NCPDP reject code; "
           "MOA for MOA remarks."),
        _c("remark_code", "text", "LQ02 / MOA03-07", "Remittance advice remark code."),
    ),
), owner="clp_position")

PROVIDER_ADJUSTMENTS = X12Table(StagingTable(
    "provider_adjustments",
    "One row per provider-level adjustment of a PLB segment (reason, reference, amount).",
    (
        _SET,
        _c("adjustment_sequence", "int", "PLB", "Order of the adjustment within its PLB (1-6)."),
        _c("provider_id", "text", "PLB01", "Provider identifier (NPI or payer-assigned)."),
        _c("fiscal_period_date", "date", "PLB02", "Last day of the provider's fiscal year."),
        _c("reason_code", "text", "PLB03-1/05-1/...", "Provider adjustment reason (WO "
           "overpayment recovery, L6 interest, FB forward balance, ...)."),
        _c("reference", "text", "PLB03-2/05-2/...", "Reference (e.g. the claim it concerns)."),
        _c("amount", "money", "PLB04/06/...", "Adjustment amount (positive reduces payment)."),
    ),
), owner="set_position")

TABLES: tuple[X12Table, ...] = (
    TRANSACTION_SETS, CLAIMS, CLAIM_CODES, SERVICE_LINES, REMITTANCES, CLAIM_PAYMENTS,
    SERVICE_PAYMENTS, ADJUSTMENTS, REMARKS, PROVIDER_ADJUSTMENTS,
)
TABLES_BY_NAME = {table.name: table for table in TABLES}


def staging_tables() -> list[StagingTable]:
    return [table.table for table in TABLES]


def staging_ddl(schema: str = SCHEMA) -> list[str]:
    """create table statements for every staging table (lineage columns first)."""
    return [table.ddl(schema) for table in staging_tables()]
