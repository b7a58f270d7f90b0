-- One row per Observation value (HL7 FHIR-to-OMOP IG, Observation → measurement or
-- observation) and per DiagnosticReport without listed results:
-- * An Observation with components (e.g. blood pressure 85354-9 with systolic 8480-6 and
--   diastolic 8462-4) gives one row per component, coded by component.code; its own
--   code gives a row only when it carries a value itself.
-- * Status registered, cancelled or entered-in-error: nothing happened or was found.
-- * default_domain (used when the code maps to no standard concept): Measurement for the
--   laboratory and vital-signs categories, else Observation; a mapped code goes to its
--   standard concept's domain.
-- * value: valueQuantity.value with its unit: the UCUM code (valueQuantity.code, system
--   http://unitsofmeasure.org) looked up as a standard UCUM concept; valueCodeableConcept
--   → the standard concept of its chosen coding; string/boolean/integer values as text.
-- * An Observation listed in a DiagnosticReport.result takes the report's encounter and
--   date when it has none; a report with results adds no row of its own.
with observations as (
    select *
    from {{ ref('stg_fhir__observations') }}
    where coalesce(status, 'final') not in ('registered', 'cancelled', 'entered-in-error')
        and patient_id is not null
),

reports as (
    select *
    from {{ ref('stg_fhir__diagnostic_reports') }}
    where coalesce(status, 'final') not in ('registered', 'cancelled', 'entered-in-error')
        and patient_id is not null
),

report_results as (
    select distinct on (listed.observation_id)
        listed.observation_id, reports.encounter_id, reports.effective_date
    from reports, unnest(reports.result_ids) as listed (observation_id)
    order by listed.observation_id, reports.report_id
),

values_given as (
    -- The observation's own value, then one row per component.
    select
        observations.observation_id,
        'code' as element,
        cast(0 as bigint) as position,
        observations.value_quantity,
        observations.value_text,
        observations.value_concept is not null as has_concept,
        'value' as value_element,
        observations.reference_range
    from observations
    where observations.has_value or jsonb_array_length(observations.components) = 0
    union all
    select
        observations.observation_id,
        'component',
        listed.position,
        listed.component -> 'valueQuantity',
        coalesce(listed.component ->> 'valueString', listed.component ->> 'valueBoolean',
            listed.component ->> 'valueInteger'),
        listed.component ? 'valueCodeableConcept',
        'component_value',
        listed.component #> '{referenceRange,0}'
    from observations,
        jsonb_path_query(observations.components, '$[*]')
            with ordinality as listed (component, position)
),

units as (
    select concept_code, concept_id
    from {{ source('vocab', 'concept') }}
    where vocabulary_id = 'UCUM' and standard_concept = 'S' and invalid_reason is null
),

value_concepts as (
    select code_system, lookup_code, min(standard_concept_id) as concept_id
    from {{ ref('int_code_map') }}
    where standard_concept_id is not null
    group by code_system, lookup_code
),

observation_rows as (
    select
        'Observation/' || observations.observation_id as record_key,
        coalesce(observations.encounter_id, report_results.encounter_id) as encounter_id,
        observations.patient_id,
        codings.code_system,
        codings.source_code,
        case when observations.categories && array['laboratory', 'vital-signs']
            then 'Measurement' else 'Observation' end as default_domain,
        coalesce(observations.effective_date, report_results.effective_date) as event_date,
        observations.as_of_date,
        case when jsonb_typeof(values_given.value_quantity -> 'value') = 'number'
            then cast(values_given.value_quantity ->> 'value' as numeric) end as value_as_number,
        value_concepts.concept_id as value_as_concept_id,
        coalesce(values_given.value_text, value_codings.concept_text) as value_as_string,
        units.concept_id as unit_concept_id,
        coalesce(values_given.value_quantity ->> 'unit', values_given.value_quantity ->> 'code')
            as unit_source_value,
        {{ fhir_number('values_given.reference_range', 'low,value') }} as range_low,
        {{ fhir_number('values_given.reference_range', 'high,value') }} as range_high
    from values_given
    inner join observations on values_given.observation_id = observations.observation_id
    inner join {{ ref('int_codings__fhir') }} as codings
        on codings.resource_type = 'Observation'
        and codings.resource_id = values_given.observation_id
        and codings.element = values_given.element
        and codings.position = values_given.position
    left join {{ ref('int_codings__fhir') }} as value_codings
        on values_given.has_concept
        and value_codings.resource_type = 'Observation'
        and value_codings.resource_id = values_given.observation_id
        and value_codings.element = values_given.value_element
        and value_codings.position = values_given.position
    left join value_concepts
        on value_codings.code_system = value_concepts.code_system
        and upper(replace(value_codings.source_code, '.', '')) = value_concepts.lookup_code
    left join units
        on coalesce(values_given.value_quantity ->> 'system', 'http://unitsofmeasure.org')
            = 'http://unitsofmeasure.org'
        and coalesce(values_given.value_quantity ->> 'code', values_given.value_quantity ->> 'unit')
            = units.concept_code
    left join report_results on values_given.observation_id = report_results.observation_id
),

report_rows as (
    select
        'DiagnosticReport/' || reports.report_id as record_key,
        reports.encounter_id,
        reports.patient_id,
        codings.code_system,
        codings.source_code,
        'Measurement' as default_domain,
        reports.effective_date as event_date,
        reports.as_of_date,
        cast(null as numeric) as value_as_number,
        cast(null as integer) as value_as_concept_id,
        reports.conclusion as value_as_string,
        cast(null as integer) as unit_concept_id,
        cast(null as text) as unit_source_value,
        cast(null as numeric) as range_low,
        cast(null as numeric) as range_high
    from reports
    inner join {{ ref('int_codings__fhir') }} as codings
        on codings.resource_type = 'DiagnosticReport' and codings.resource_id = reports.report_id
        and codings.element = 'code'
    where cardinality(reports.result_ids) = 0
),

all_rows as (
    select * from observation_rows
    union all
    select * from report_rows
)

select
    all_rows.record_key,
    encounters.visit_key,
    encounters.visit_detail_key,
    all_rows.patient_id as person_key,
    all_rows.code_system,
    all_rows.source_code,
    all_rows.default_domain,
    coalesce(all_rows.event_date, encounters.start_date, all_rows.as_of_date) as start_date,
    cast(null as date) as end_date,
    all_rows.value_as_number,
    all_rows.value_as_concept_id,
    all_rows.value_as_string,
    all_rows.unit_concept_id,
    all_rows.unit_source_value,
    all_rows.range_low,
    all_rows.range_high
from all_rows
left join {{ ref('int_encounters__fhir') }} as encounters
    on all_rows.encounter_id = encounters.encounter_id
