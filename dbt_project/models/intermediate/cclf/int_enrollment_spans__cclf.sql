-- One row per continuous enrollment span of a beneficiary: a beneficiary listed in a
-- delivery's CCLF8 is enrolled in that delivery's reporting month; consecutive months
-- merge into one span (gaps and islands in one pass), capped at the death date.
with enrolled_months as (
    select distinct
        {{ cclf_current_mbi('demographics.bene_mbi_id') }} as current_mbi,
        demographics.reporting_month
    from {{ ref('stg_cclf__beneficiary_demographics') }} as demographics
    left join {{ ref('int_current_mbi__cclf') }} as xref
        on demographics.bene_mbi_id = xref.mbi
    where demographics.bene_mbi_id is not null
),

numbered as (
    select
        current_mbi,
        reporting_month,
        (extract(year from reporting_month) * 12 + extract(month from reporting_month))
            - row_number() over (partition by current_mbi order by reporting_month) as island
    from enrolled_months
),

spans as (
    select
        current_mbi,
        min(reporting_month) as span_start,
        cast(max(reporting_month) + interval '1 month' - interval '1 day' as date) as span_end
    from numbered
    group by current_mbi, island
)

select
    spans.current_mbi,
    spans.span_start,
    least(spans.span_end, coalesce(beneficiaries.death_date, spans.span_end)) as span_end,
    beneficiaries.dual_status_code
from spans
inner join {{ ref('int_beneficiaries__cclf') }} as beneficiaries
    on spans.current_mbi = beneficiaries.current_mbi
where spans.span_start <= coalesce(beneficiaries.death_date, spans.span_start)
