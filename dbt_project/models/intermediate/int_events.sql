-- One row per coded event per standard concept it maps to, across sources, with the OMOP
-- table it belongs to: the standard concept's domain when it is a clinical-event domain,
-- else the source's default (unmapped codes keep concept 0 and their source value).
with events as (
    {{ union_source_models('int_events') }}
),

mapped as (
    select
        events.*,
        people.person_id,
        visits.visit_occurrence_id,
        details.visit_detail_id,
        coalesce(code_map.source_concept_id, 0) as source_concept_id,
        coalesce(code_map.standard_concept_id, 0) as concept_id,
        code_map.value_concept_id,
        case
            when code_map.standard_domain_id in ('Condition', 'Procedure', 'Drug', 'Device',
                                                 'Measurement', 'Observation')
                then code_map.standard_domain_id
            else events.default_domain
        end as target_domain
    from events
    inner join {{ ref('int_person_index') }} as people
        on events.source = people.source and events.person_key = people.person_key
    left join {{ ref('int_visits') }} as visits
        on events.source = visits.source and events.visit_key = visits.visit_key
    left join {{ ref('int_visit_details') }} as details
        on events.source = details.source and events.visit_detail_key = details.visit_detail_key
    left join {{ ref('int_code_map') }} as code_map
        on events.code_system = code_map.code_system
        and upper(replace(events.source_code, '.', '')) = code_map.lookup_code
)

select
    row_number() over (
        partition by target_domain
        -- Every column takes part, so ids are the same on every rebuild of the same input.
        order by source, visit_key, start_date, source_code, concept_id, visit_detail_key,
            end_date, code_system, modifier, quantity, days_supply, provider_npi,
            condition_status_concept_id, type_concept_id, value_as_number, value_as_string,
            unit_source_value, value_as_concept_id, unit_concept_id, range_low, range_high
    ) as event_id,
    mapped.*
from mapped
