-- One row per 837 claim that survives version resolution: the current version of each
-- claim (int_claim_versions__x12), dropped when that version is a void (CLM05-3 = 8,
-- NUBC claim frequency "void/cancel of prior claim"); a replacement (7) simply is the
-- current version. Dates come from the statement period (837I DTP*434) or the service
-- lines (DTP*472), providers from the claim and line provider loops.
with current_versions as (
    select * from {{ ref('int_claim_versions__x12') }}
    where recency = 1 and frequency_code is distinct from '8'
),

line_summary as (
    select
        lines.load_id,
        lines.claim_position,
        min(lines.service_from) as first_service,
        max(coalesce(lines.service_to, lines.service_from)) as last_service,
        bool_or(lines.revenue_code like '045%' or lines.revenue_code = '0981') as has_emergency,
        min(lines.rendering_provider_npi) as line_rendering_npi
    from {{ ref('stg_x12__service_lines') }} as lines
    inner join current_versions as claims
        on lines.load_id = claims.load_id and lines.claim_position = claims.claim_position
    group by lines.load_id, lines.claim_position
)

select
    claims.*,
    coalesce(claims.statement_from, line_summary.first_service, claims.admission_date)
        as start_date,
    coalesce(claims.statement_to, line_summary.last_service, claims.discharge_date,
             claims.statement_from, line_summary.first_service, claims.admission_date)
        as end_date,
    coalesce(line_summary.has_emergency, false) as has_emergency_revenue,
    case claims.transaction_type
        -- 837P: the claim's rendering provider (2310B), else the billing provider when it
        -- is a person (2010AA NM102 = 1), else the first line's rendering provider.
        when '837P' then coalesce(claims.rendering_provider_npi,
                                  case when claims.billing_provider_entity_type = '1'
                                       then claims.billing_provider_npi end,
                                  line_summary.line_rendering_npi)
        -- 837I: attending (2310A), rendering (2310D), operating (2310B).
        else coalesce(claims.attending_provider_npi, claims.rendering_provider_npi,
                      claims.operating_provider_npi)
    end as visit_provider_npi,
    case when claims.patient_last_name is null then claims.subscriber_birth_date
         else claims.patient_birth_date end as birth_date,
    case when claims.patient_last_name is null then claims.subscriber_sex
         else claims.patient_sex end as sex,
    case when claims.patient_last_name is null then claims.subscriber_state
         else coalesce(claims.patient_state, claims.subscriber_state) end as state,
    case when claims.patient_last_name is null then claims.subscriber_zip
         else coalesce(claims.patient_zip, claims.subscriber_zip) end as zip,
    case when claims.patient_last_name is null then claims.subscriber_city
         else coalesce(claims.patient_city, claims.subscriber_city) end as city
from current_versions as claims
left join line_summary
    on claims.load_id = line_summary.load_id and claims.claim_position = line_summary.claim_position
