-- One row per continuous observation span of a person (OMOP OBSERVATION_PERIOD): source
-- enrollment spans plus every visit's dates, merged where they overlap or touch, in a
-- single gaps-and-islands pass. Period type 32810 (Claim).
with spans as (
    select people.person_id, spans.span_start, spans.span_end
    from ({{ union_source_models('int_observation_spans') }}) as spans
    inner join {{ ref('int_person_index') }} as people
        on spans.source = people.source and spans.person_key = people.person_key
    union all
    select person_id, start_date, end_date from {{ ref('int_visits') }}
),

flagged as (
    select
        person_id,
        span_start,
        span_end,
        case
            when span_start <= max(span_end) over (
                partition by person_id order by span_start, span_end
                rows between unbounded preceding and 1 preceding
            ) + 1 then 0
            else 1
        end as starts_island
    from spans
),

islands as (
    select
        person_id,
        span_start,
        span_end,
        sum(starts_island) over (partition by person_id order by span_start, span_end
                                 rows unbounded preceding) as island
    from flagged
),

periods as (
    select person_id, min(span_start) as start_date, max(span_end) as end_date
    from islands
    group by person_id, island
)

select
{{ cdm_select({
    'observation_period_id': 'row_number() over (order by person_id, start_date)',
    'person_id': 'person_id',
    'observation_period_start_date': 'start_date',
    'observation_period_end_date': 'end_date',
    'period_type_concept_id': '32810',
}) }}
from periods
