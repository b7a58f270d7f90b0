{#- Union one intermediate model across every enabled source (var omop_sources), e.g.
    int_visits__cclf, int_visits__x12, ...; adds a leading `source` column. Each source's
    model must produce the same columns in the same order. -#}
{% macro union_source_models(prefix) -%}
    {%- for source_name in var('omop_sources') %}
    select '{{ source_name }}' as source, unioned.*
    from {{ ref(prefix ~ '__' ~ source_name) }} as unioned
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{%- endmacro %}
