-- One row per surviving 837 claim that becomes a visit_occurrence (docs/x12_mapping.md,
-- "Visits"). The visit concept comes from the place of service (837P CLM05-1, CMS POS
-- codes) or the facility type (837I CLM05-1, the first two digits of the NUBC type of
-- bill); visit_source_value is the payer claim control number an 835 gave (CLP07),
-- else the patient control number (CLM01). Costs are the claim's linked 835 payments.
with claims as (
    select * from {{ ref('int_claims__x12') }}
    where start_date is not null
),

place_of_service (code, visit_concept_id) as (
    -- CMS place of service code set: inpatient settings, emergency room, home, nursing
    -- and custodial facilities, hospice; everything else is an outpatient visit.
    values ('21', 9201), ('51', 9201), ('61', 9201), ('23', 9203), ('12', 581476),
           ('31', 42898160), ('32', 42898160), ('33', 42898160), ('34', 8546)
),

facility_type (code, visit_concept_id) as (
    -- NUBC type of bill, facility type + bill classification: hospital inpatient (11),
    -- religious non-medical inpatient (41), swing beds (18, 28) and skilled nursing
    -- (21, 22) and intermediate care (65, 66) facilities, home health (32, 33, 34),
    -- hospice (81, 82); everything else is outpatient (emergency when a line bills
    -- revenue code 045x or 0981).
    values ('11', 9201), ('41', 9201), ('18', 42898160), ('28', 42898160),
           ('21', 42898160), ('22', 42898160), ('65', 42898160), ('66', 42898160),
           ('32', 581476), ('33', 581476), ('34', 581476), ('81', 8546), ('82', 8546)
)

select
    'x12:' || claims.claim_key as visit_key,
    claims.person_key,
    case
        when claims.transaction_type = '837P' then coalesce(pos.visit_concept_id, 9202)
        when tob.visit_concept_id is not null then tob.visit_concept_id
        when claims.has_emergency_revenue then 9203
        else 9202
    end as visit_concept_id,
    claims.start_date,
    claims.end_date,
    coalesce(costs.payer_claim_control_number, claims.patient_control_number)
        as visit_source_value,
    claims.transaction_type as claim_type,
    claims.visit_provider_npi as provider_npi,
    coalesce(claims.service_facility_npi, claims.billing_provider_npi) as care_site_key,
    claims.admission_source as admitted_from_source_value,
    claims.patient_status as discharged_to_source_value,
    costs.paid_by_payer,
    claims.total_charge,
    costs.allowed,
    costs.paid_by_patient,
    claims.drg_code,
    32810 as visit_type_concept_id,
    costs.copay,
    costs.coinsurance,
    costs.deductible
from claims
left join place_of_service as pos on claims.facility_code = pos.code
left join facility_type as tob on claims.facility_code = tob.code
left join {{ ref('int_claim_costs__x12') }} as costs on claims.claim_key = costs.claim_key
