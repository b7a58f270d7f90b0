-- X12 claims are not rolled up into other visits: no visit_detail rows (the shape of
-- docs/adding_a_source.md, returning nothing).
select
    cast(null as text) as visit_detail_key,
    cast(null as text) as visit_key,
    cast(null as text) as person_key,
    cast(null as integer) as visit_detail_concept_id,
    cast(null as date) as start_date,
    cast(null as date) as end_date,
    cast(null as text) as visit_detail_source_value,
    cast(null as text) as provider_npi,
    cast(null as numeric) as paid_by_payer,
    cast(null as numeric) as allowed,
    cast(null as integer) as visit_detail_type_concept_id,
    {{ no_charge_or_patient_shares() }}
where false
