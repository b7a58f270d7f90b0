{{ config(indexes=[{'columns': ['eob_id']}]) }}
-- One row per adjudicated claim (ExplanationOfBenefit that is not cancelled or a draft),
-- with its visit concept, dates, providers and payment amounts.
-- * An EOB whose items name an Encounter that became a visit (Synthea's do) is the bill
--   of that encounter: it rolls up into the encounter's visit (linked_visit_key) and takes
--   the encounter's dates (Synthea's billablePeriod spans a year after the visit).
-- * Visit concept: BFD claim type (nch_clm_type_cd, the CCLF claim type codes; same rules
--   as docs/cclf_mapping.md), else CARIN BB claim type / subtype; professional claims by
--   the place of service of their first item (CMS POS 21 inpatient, 23 ER).
-- * Amounts: EOB.payment.amount is what the payer paid; other fields come from claim-level
--   amounts (EOB.total, EOB.adjudication, BFD's benefitBalance.financial) when given, else
--   the sum over items of the item adjudications. An amount is read by its BFD variable
--   when it carries one (a coding of a https://bluebutton.cms.gov/resources/codesystem/
--   system naming .../variables/<name>), else by its CARIN BB / FHIR adjudication
--   category: BFD gives several amounts of one line the same CARIN category, and only the
--   variable tells the line's charge from its rate. Several claim-level amounts of one
--   field (BFD's total and benefit balance) → the largest; likewise per item (a BFD
--   line's Medicare payment and the provider's part of it).
with claims as (
    select *
    from {{ ref('stg_fhir__explanation_of_benefits') }}
    where coalesce(status, 'active') not in ('cancelled', 'draft')
        and patient_id is not null
),

adjudication_fields (variable, field) as (
    values
        -- BFD variables: claim level (EOB.total, benefitBalance.financial) ...
        ('clm_tot_chrg_amt', 'charge'), ('nch_carr_clm_sbmtd_chrg_amt', 'charge'),
        ('nch_carr_clm_alowd_amt', 'allowed'),
        ('carr_clm_cash_ddctbl_apld_amt', 'deductible'), ('nch_bene_ip_ddctbl_amt', 'deductible'),
        ('nch_bene_ptb_ddctbl_amt', 'deductible'),
        ('nch_bene_pta_coinsrnc_lblty_amt', 'coinsurance'),
        ('nch_bene_ptb_coinsrnc_amt', 'coinsurance'),
        -- ... and line / revenue-center level (item.adjudication)
        ('line_sbmtd_chrg_amt', 'charge'), ('rev_cntr_tot_chrg_amt', 'charge'),
        ('tot_rx_cst_amt', 'charge'),
        ('line_alowd_chrg_amt', 'allowed'),
        ('line_nch_pmt_amt', 'paid'), ('rev_cntr_pmt_amt_amt', 'paid'),
        ('cvrd_d_plan_pd_amt', 'paid'),
        -- (the provider's part of the payment: the line's payment when nothing larger is
        -- given, as in Synthea's items)
        ('line_prvdr_pmt_amt', 'paid'), ('rev_cntr_prvdr_pmt_amt', 'paid'),
        ('ptnt_pay_amt', 'patient_paid'), ('rev_cntr_ptnt_rspnsblty_pmt', 'patient_paid'),
        ('line_bene_ptb_ddctbl_amt', 'deductible'), ('rev_cntr_cash_ddctbl_amt', 'deductible'),
        ('rev_cntr_blood_ddctbl_amt', 'deductible'),
        ('line_coinsrnc_amt', 'coinsurance'), ('rev_cntr_coinsrnc_wge_adjstd_c', 'coinsurance'),
        -- CARIN BB (C4BBAdjudication) and FHIR adjudication categories
        ('submitted', 'charge'), ('drugcost', 'charge'),
        ('eligible', 'allowed'),
        ('benefit', 'paid'), ('paidtoprovider', 'paid'),
        ('paidbypatient', 'patient_paid'),
        ('copay', 'copay'),
        ('deductible', 'deductible'),
        ('coinsurance', 'coinsurance')
),

adjudications as (
    -- (claim, level, item, amount entry, where its category codings are)
    select claims.eob_id, 'claim' as level, cast(0 as bigint) as item, listed.entry,
        listed.entry #> '{amount,value}' as amount, listed.entry -> 'category' as category
    from claims
    cross join lateral jsonb_path_query(claims.totals || claims.adjudications, '$[*]')
        as listed (entry)
    union all
    select claims.eob_id, 'claim', 0, listed.entry, listed.entry #> '{usedMoney,value}',
        listed.entry -> 'type'
    from claims
    cross join lateral jsonb_path_query(claims.benefit_balances, '$[*].financial[*]')
        as listed (entry)
    union all
    select claims.eob_id, 'item', items.position, adjudication.entry,
        adjudication.entry #> '{amount,value}', adjudication.entry -> 'category'
    from claims
    cross join lateral jsonb_path_query(claims.items, '$[*]')
        with ordinality as items (item, position)
    cross join lateral jsonb_path_query(items.item, '$.adjudication[*]') as adjudication (entry)
),

adjudication_amounts as (
    select
        adjudications.eob_id,
        adjudications.level,
        adjudications.item,
        adjudication_fields.field,
        cast(adjudications.amount #>> '{}' as numeric) as amount
    from adjudications
    inner join adjudication_fields
        on coalesce(
            substring(jsonb_path_query_first(adjudications.category,
                '$.coding[*] ? (@.system starts with "https://bluebutton.cms.gov/resources/codesystem/").code')
                #>> '{}' from '/variables/([^/]+)$'),
            {{ fhir_code('adjudications.category', '$') }}
        ) = adjudication_fields.variable
    where jsonb_typeof(adjudications.amount) = 'number'
),

amounts as (
    -- Claim level: one value per field; item level: per item one value per field, summed.
    select eob_id, field, max(amount) filter (where level = 'claim') as claim_amount,
        sum(item_amount) as item_amount
    from (
        select eob_id, level, item, field, max(amount) as amount,
            case when level = 'item' then max(amount) end as item_amount
        from adjudication_amounts
        group by eob_id, level, item, field
    ) as per_item
    group by eob_id, field
),

totals as (
    select
        eob_id,
        max(coalesce(claim_amount, item_amount)) filter (where field = 'charge') as charge,
        max(coalesce(claim_amount, item_amount)) filter (where field = 'allowed') as allowed,
        max(coalesce(claim_amount, item_amount)) filter (where field = 'paid') as paid,
        max(coalesce(claim_amount, item_amount)) filter (where field = 'patient_paid')
            as patient_paid,
        max(coalesce(claim_amount, item_amount)) filter (where field = 'copay') as copay,
        max(coalesce(claim_amount, item_amount)) filter (where field = 'coinsurance')
            as coinsurance,
        max(coalesce(claim_amount, item_amount)) filter (where field = 'deductible')
            as deductible
    from amounts
    group by eob_id
),

supporting as (
    -- EOB.supportingInfo by category: CARIN BB C4BBSupportingInfoType codes, or the BFD
    -- variable a category coding names.
    select
        claims.eob_id,
        substring(category.code #>> '{}' from '([^/]+)$') as category,
        info.entry
    from claims,
        jsonb_path_query(claims.supporting_info, '$[*]') as info (entry),
        jsonb_path_query(info.entry, '$.category.coding[*].code') as category (code)
),

claim_details as (
    select
        eob_id,
        to_date(left(min(entry #>> '{timingPeriod,start}') filter (where category = 'admissionperiod'),
            10), 'YYYY-MM-DD') as admission_start,
        to_date(left(max(entry #>> '{timingPeriod,end}') filter (where category = 'admissionperiod'),
            10), 'YYYY-MM-DD') as admission_end,
        min({{ fhir_code('entry', '$.code') }})
            filter (where category in ('drg', 'clm_drg_cd')) as drg_code,
        min({{ fhir_code('entry', '$.code') }})
            filter (where category in ('discharge-status', 'ptnt_dschrg_stus_cd'))
            as discharge_status,
        min({{ fhir_code('entry', '$.code') }})
            filter (where category in ('admsnsrc', 'clm_src_ip_admsn_cd')) as admission_source,
        max(case when jsonb_typeof(entry #> '{valueQuantity,value}') = 'number'
            then cast(round(cast(entry #>> '{valueQuantity,value}' as numeric)) as integer) end)
            filter (where category = 'dayssupply') as days_supply
    from supporting
    group by eob_id
),

items as (
    select
        claims.eob_id,
        min({{ fhir_code('listed.item', '$.locationCodeableConcept') }})
            as place_of_service,
        bool_or(jsonb_path_exists(listed.item,
            '$.revenue.coding[*] ? (@.code starts with "045")')) as has_emergency_revenue,
        min({{ fhir_serviced_start('listed.item') }}) as first_service,
        max({{ fhir_serviced_end('listed.item') }}) as last_service
    from claims, jsonb_path_query(claims.items, '$[*]') as listed (item)
    group by claims.eob_id
),

linked as (
    -- EOB.item.encounter: the encounter this claim bills (first one named that happened).
    select distinct on (claims.eob_id)
        claims.eob_id, encounters.encounter_id, encounters.visit_key, encounters.visit_concept_id,
        encounters.start_date, encounters.end_date
    from claims
    cross join lateral jsonb_path_query(claims.items, '$[*].encounter[*].reference')
        with ordinality as listed (reference, position)
    inner join {{ ref('int_encounters__fhir') }} as encounters
        on {{ fhir_id("listed.reference #>> '{}'") }}
            = encounters.encounter_id
    order by claims.eob_id, listed.position
),

care_team as (
    -- The claim's clinician: attending for institutional claims, else the performing,
    -- rendering, primary or prescribing provider; an NPI is 10 digits (CMS NPI standard).
    select distinct on (claims.eob_id)
        claims.eob_id,
        coalesce(member.entry #>> '{provider,identifier,value}', practitioners.npi) as npi
    from claims
    cross join lateral jsonb_path_query(claims.care_team, '$[*]')
        with ordinality as member (entry, position)
    left join {{ ref('stg_fhir__practitioners') }} as practitioners
        on {{ fhir_reference_id('member.entry', 'provider') }} = practitioners.practitioner_id
    where coalesce(member.entry #>> '{provider,identifier,value}', practitioners.npi) ~ '^\d{10}$'
    order by claims.eob_id,
        array_position(array['attending', 'performing', 'rendering', 'primary', 'prescribing'],
            {{ fhir_code('member.entry', '$.role') }}) nulls last,
        member.position
)

select
    claims.eob_id,
    claims.patient_id,
    'fhir:ExplanationOfBenefit/' || claims.eob_id as claim_key,
    linked.encounter_id as linked_encounter_id,
    linked.visit_key as linked_visit_key,
    coalesce(claims.nch_claim_type, claims.bfd_eob_type, claims.claim_type) as claim_type,
    case
        when linked.visit_key is not null then linked.visit_concept_id
        when claims.nch_claim_type in ('60', '61') then 9201
        when claims.nch_claim_type in ('20', '30') then 42898160
        when claims.nch_claim_type = '10' then 581476
        when claims.nch_claim_type = '50' then 8546
        when claims.nch_claim_type = '40' then
            case when items.has_emergency_revenue then 9203 else 9202 end
        when claims.nch_claim_type in ('81', '82') then 9202
        when claims.nch_claim_type in ('71', '72') or claims.claim_type = 'professional' then
            case items.place_of_service when '21' then 9201 when '23' then 9203 else 9202 end
        when claims.bfd_eob_type = 'PDE' or claims.claim_type = 'pharmacy' then 581458
        when claims.claim_subtype = 'inpatient' then 9201
        when claims.claim_type in ('institutional', 'oral', 'vision') then 9202
        else 0
    end as visit_concept_id,
    coalesce(linked.start_date, claim_details.admission_start, claims.billable_start,
        items.first_service, claims.billable_end) as start_date,
    greatest(
        coalesce(linked.end_date, claim_details.admission_end, claims.billable_end,
            items.last_service),
        coalesce(linked.start_date, claim_details.admission_start, claims.billable_start,
            items.first_service, claims.billable_end)
    ) as end_date,
    care_team.npi as provider_npi,
    'NPI/' || claims.facility_identifier as care_site_key,
    claim_details.admission_source,
    claim_details.discharge_status,
    claim_details.drg_code,
    claim_details.days_supply,
    coalesce(claims.payment_amount, totals.paid) as paid_by_payer,
    totals.charge as total_charge,
    totals.allowed,
    totals.patient_paid as paid_by_patient,
    totals.copay,
    totals.coinsurance,
    totals.deductible
from claims
left join linked on claims.eob_id = linked.eob_id
left join totals on claims.eob_id = totals.eob_id
left join claim_details on claims.eob_id = claim_details.eob_id
left join items on claims.eob_id = items.eob_id
left join care_team on claims.eob_id = care_team.eob_id
