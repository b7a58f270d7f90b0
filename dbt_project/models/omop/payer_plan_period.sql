-- One row per continuous coverage span of a person (OMOP PAYER_PLAN_PERIOD).
with enrollment as (
    select people.person_id, enrollment.*
    from ({{ union_source_models('int_enrollment') }}) as enrollment
    inner join {{ ref('int_person_index') }} as people
        on enrollment.source = people.source and enrollment.person_key = people.person_key
)

select
{{ cdm_select({
    'payer_plan_period_id': 'row_number() over (order by person_id, span_start)',
    'person_id': 'person_id',
    'payer_plan_period_start_date': 'span_start',
    'payer_plan_period_end_date': 'span_end',
    'payer_concept_id': '0',
    'payer_source_value': 'payer_source_value',
    'payer_source_concept_id': '0',
    'plan_concept_id': '0',
    'plan_source_value': 'plan_source_value',
    'plan_source_concept_id': '0',
    'sponsor_concept_id': '0',
    'sponsor_source_concept_id': '0',
    'stop_reason_concept_id': '0',
    'stop_reason_source_concept_id': '0',
}) }}
from enrollment
