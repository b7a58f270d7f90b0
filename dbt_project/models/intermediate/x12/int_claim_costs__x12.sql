-- One row per surviving 837 claim that has at least one linked 835 claim payment:
-- amounts summed over its payments (reversals net out), and the payer claim control
-- number (CLP07) of the latest payment that is not a reversal. Predetermination-only
-- payments (CLP02 = 25) carry no money and are left out.
with linked as (
    select * from {{ ref('int_claim_payments__x12') }}
    where claim_key is not null and status_code is distinct from '25'
),

latest as (
    select distinct on (claim_key) claim_key, payer_claim_control_number
    from linked
    where status_code is distinct from '22' and payer_claim_control_number is not null
    order by claim_key, payment_date desc nulls last, group_created_at desc nulls last,
        load_id desc, clp_position desc
)

select
    linked.claim_key,
    sum(linked.paid) as paid_by_payer,
    sum(linked.patient_responsibility) as paid_by_patient,
    sum(linked.copay) as copay,
    sum(linked.coinsurance) as coinsurance,
    sum(linked.deductible) as deductible,
    sum(linked.allowed) as allowed,
    count(*) as payments,
    min(latest.payer_claim_control_number) as payer_claim_control_number
from linked
left join latest on linked.claim_key = latest.claim_key
group by linked.claim_key
