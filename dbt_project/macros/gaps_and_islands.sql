{#- A CTE named `name` holding every row of `relation` (which has start_date, end_date)
    with an `island` number: rows of one partition share an island while each starts on or
    before the latest end before it plus `persistence_days` (OHDSI era convention: 30 for
    eras; 1 merges spans that overlap or touch). One window pass, no self-join. -#}
{% macro gaps_and_islands(relation, partition_by, persistence_days, name) -%}
{{ name }}_flagged as (
    select
        {{ relation }}.*,
        case
            when start_date <= max(end_date) over (
                partition by {{ partition_by | join(', ') }} order by start_date, end_date
                rows between unbounded preceding and 1 preceding
            ) + {{ persistence_days }} then 0
            else 1
        end as starts_island
    from {{ relation }}
),

{{ name }} as (
    select
        {{ name }}_flagged.*,
        sum(starts_island) over (
            partition by {{ partition_by | join(', ') }} order by start_date, end_date
            rows unbounded preceding
        ) as island
    from {{ name }}_flagged
)
{%- endmacro %}
