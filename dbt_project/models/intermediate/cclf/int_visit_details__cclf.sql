-- One row per Part B claim (current MBI + claim id) whose lines all fall inside an
-- inpatient stay (claim type 60/61) of the same beneficiary: it rolls up into that stay
-- as a visit_detail rather than a visit of its own (DESIGN.md, claim type → visit).
with partb_claims as (
    select
        current_mbi,
        claim_id,
        min(line_start_date) as start_date,
        max(line_end_date) as end_date,
        min(place_of_service_code) as place_of_service_code,
        min(rendering_npi) as provider_npi,
        sum(paid) as paid,
        sum(allowed) as allowed
    from {{ ref('int_partb_lines__cclf') }}
    group by current_mbi, claim_id
),

stays as (
    select current_mbi, claim_id, claim_start_date, coalesce(claim_end_date, claim_start_date)
        as claim_end_date
    from {{ ref('int_parta_claims__cclf') }}
    where claim_type in ('60', '61')
),

matched as (
    select distinct on (partb_claims.current_mbi, partb_claims.claim_id)
        partb_claims.*,
        stays.claim_id as stay_claim_id
    from partb_claims
    inner join stays
        on partb_claims.current_mbi = stays.current_mbi
        and partb_claims.start_date >= stays.claim_start_date
        and partb_claims.end_date <= stays.claim_end_date
    order by partb_claims.current_mbi, partb_claims.claim_id, stays.claim_start_date,
        stays.claim_id
)

select
    'cclf:B:' || current_mbi || ':' || claim_id as visit_detail_key,
    'cclf:A:' || stay_claim_id as visit_key,
    current_mbi as person_key,
    case place_of_service_code when '23' then 9203 when '21' then 9201 else 9202 end
        as visit_detail_concept_id,
    start_date,
    end_date,
    claim_id as visit_detail_source_value,
    provider_npi,
    paid as paid_by_payer,
    allowed,
    32810 as visit_detail_type_concept_id,
    -- CCLF5 lines carry no submitted charge, patient shares or DRG.
    {{ no_charge_or_patient_shares() }}
from matched
