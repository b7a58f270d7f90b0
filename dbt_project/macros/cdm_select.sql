{#- The select list of an OMOP model in the spec's column order, each value cast to its
    spec type. `values` maps column name → SQL expression; a column not given is null.
    Columns and types come from the model's generated yml (official v5.4 spec), so a
    model cannot drift from the CDM; the dbt contract enforces the same at build time. -#}
{% macro cdm_select(values) -%}
    {%- set unknown = values.keys() | reject('in', model.columns.keys()) | list -%}
    {%- if execute and unknown | length > 0 -%}
        {{ exceptions.raise_compiler_error(model.name ~ " sets columns the CDM does not have: " ~ unknown | join(', ')) }}
    {%- endif -%}
    {%- for column in model.columns.values() %}
    cast({{ values.get(column.name, 'null') }} as {{ column.data_type }}) as {{ adapter.quote(column.name) if column.name == 'offset' else column.name }}
        {{- "," if not loop.last }}
    {%- endfor %}
{%- endmacro %}
