-- One row per 835 claim payment that pays no surviving 837 claim: it stays in staging
-- and is reported here with the reason (no 837 with that CLM01 was landed, or the
-- claim it paid was voided by a later 837).
select
    payments.load_id,
    payments.file_name,
    payments.clp_position,
    payments.patient_control_number,
    payments.status_code,
    payments.payer_claim_control_number,
    payments.payer_name,
    payments.payer_key,
    payments.member_id,
    payments.paid,
    payments.payment_date,
    case
        when exists (
            select 1 from {{ ref('int_claim_versions__x12') }} as versions
            where versions.patient_control_number = payments.patient_control_number
        ) then 'the 837 claim with this CLM01 was voided'
        else 'no 837 claim with this CLM01 was landed'
    end as reason
from {{ ref('int_claim_payments__x12') }} as payments
where payments.claim_key is null
