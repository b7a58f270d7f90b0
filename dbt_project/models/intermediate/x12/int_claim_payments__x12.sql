-- One row per 835 claim payment (CLP) with its amounts by kind and the surviving 837
-- claim it pays, if any (docs/x12_mapping.md, "Remittances"). CLP01 repeats the 837
-- CLM01; when several surviving claims carry that CLM01, the one whose payer id
-- (2010BB NM109 = 835 1000A REF*2U, else N104) and member id (2010BA NM109 = 835
-- NM1*IL, else NM1*QC NM109) agree is chosen. Reversals (CLP02 = 22) carry negated
-- amounts (TR3 X221 1.10.2.8), so summing over a claim's payments nets them out.
with adjustments as (
    select
        load_id,
        clp_position,
        -- Claim adjustment reason codes 1, 2, 3 of group PR: deductible, coinsurance, copay.
        sum(amount) filter (where group_code = 'PR' and reason_code = '1') as deductible,
        sum(amount) filter (where group_code = 'PR' and reason_code = '2') as coinsurance,
        sum(amount) filter (where group_code = 'PR' and reason_code = '3') as copay,
        sum(amount) filter (where group_code <> 'PR') as payer_adjustments
    from {{ ref('stg_x12__adjustments') }}
    group by load_id, clp_position
),

line_allowed as (
    select load_id, clp_position, sum(allowed_amount) as allowed, count(allowed_amount) as lines
    from {{ ref('stg_x12__service_payments') }}
    group by load_id, clp_position
),

payments as (
    select
        payments.*,
        remittances.payment_date,
        remittances.trace_number,
        remittances.payer_name,
        coalesce(remittances.payer_identification, remittances.payer_id) as payer_key,
        coalesce(payments.insured_id, payments.patient_id) as member_id,
        coalesce(adjustments.deductible, 0) as deductible,
        coalesce(adjustments.coinsurance, 0) as coinsurance,
        coalesce(adjustments.copay, 0) as copay,
        -- Allowed: the payer's line amounts (AMT*B6) when given, else the claim's
        -- coverage amount (AMT*AU), else the charge less the non-patient adjustments.
        case
            when line_allowed.lines > 0 then line_allowed.allowed
            when payments.coverage_amount is not null then payments.coverage_amount
            else payments.total_charge - coalesce(adjustments.payer_adjustments, 0)
        end as allowed
    from {{ ref('stg_x12__claim_payments') }} as payments
    inner join {{ ref('stg_x12__remittances') }} as remittances
        on payments.load_id = remittances.load_id
        and payments.set_position = remittances.set_position
    left join adjustments
        on payments.load_id = adjustments.load_id and payments.clp_position = adjustments.clp_position
    left join line_allowed
        on payments.load_id = line_allowed.load_id
        and payments.clp_position = line_allowed.clp_position
),

candidates as (
    select distinct on (payments.load_id, payments.clp_position)
        payments.load_id,
        payments.clp_position,
        claims.claim_key
    from payments
    inner join {{ ref('int_claims__x12') }} as claims
        on payments.patient_control_number = claims.patient_control_number
    order by payments.load_id, payments.clp_position,
        case when claims.payer_id = payments.payer_key then 0 else 1 end,
        case when claims.subscriber_id = payments.member_id then 0 else 1 end,
        claims.claim_key
)

select
    payments.*,
    candidates.claim_key
from payments
left join candidates
    on payments.load_id = candidates.load_id and payments.clp_position = candidates.clp_position
