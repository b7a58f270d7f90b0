-- One row per 837 claim version as sent, with the keys of its claim and person and its
-- rank among the versions of that claim (docs/x12_mapping.md, "Claim versions"):
-- versions share patient control number (CLM01) + payer (2010BB NM109) + member
-- (2010BA NM109); the latest by functional group date-time (GS04/GS05), then
-- interchange date-time (ISA09/ISA10), then file order (load, segment) is current.
with claims as (
    select
        claims.*,
        concat_ws('|', claims.payer_id, claims.subscriber_id, claims.patient_control_number)
            as claim_key,
        -- A dependent (loop 2000C) has no member id of its own (5010): the subscriber's
        -- id plus the patient's name and birth date tell them apart.
        case
            when claims.patient_last_name is null
                then concat_ws('|', claims.payer_id, claims.subscriber_id)
            else concat_ws('|', claims.payer_id, claims.subscriber_id,
                           upper(claims.patient_last_name), upper(claims.patient_first_name),
                           to_char(claims.patient_birth_date, 'YYYYMMDD'))
        end as person_key
    from {{ ref('stg_x12__claims') }} as claims
)

select
    claims.*,
    row_number() over (
        partition by claim_key
        order by group_created_at desc nulls last, interchange_created_at desc nulls last,
            load_id desc, claim_position desc
    ) as recency,
    count(*) over (partition by claim_key) as versions_sent
from claims
