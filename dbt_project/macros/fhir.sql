{#- FHIR R4 JSONB idioms of the FHIR staging and intermediate models
    (docs/fhir_mapping.md). `json` is a SQL expression of type jsonb (a resource or one of
    its elements), `element` a path below it written as for #>> ('subject', 'payor,0',
    'dispenseRequest,validityPeriod'); each macro returns one SQL expression. -#}

{#- The id a reference names: the last segment of Patient/123, urn:uuid:123 or an
    absolute URL, without a /_history/<version> suffix. `reference` is SQL text. -#}
{% macro fhir_id(reference) -%}
substring({{ reference }} from '([^/:]+)(?:/_history/[^/]*)?$')
{%- endmacro %}

{#- The id of the resource a Reference element points at (`element`.reference). -#}
{% macro fhir_reference_id(json, element) -%}
{{ fhir_id(json ~ " #>> '{" ~ element ~ ",reference}'") }}
{%- endmacro %}

{#- A FHIR date, dateTime or instant (SQL text) as a date: a partial date (YYYY,
    YYYY-MM) stands for its first day; the time and zone of a dateTime are dropped. -#}
{% macro fhir_date(text) -%}
to_date(left({{ text }}, 10), 'YYYY-MM-DD')
{%- endmacro %}

{#- The start / end date of a Period element. -#}
{% macro fhir_period_start(json, element) -%}
{{ fhir_date(json ~ " #>> '{" ~ element ~ ",start}'") }}
{%- endmacro %}

{% macro fhir_period_end(json, element) -%}
{{ fhir_date(json ~ " #>> '{" ~ element ~ ",end}'") }}
{%- endmacro %}

{#- The start date of a choice element `name`[x] (dateTime, Period or instant, e.g.
    effective[x], onset[x], performed[x]), then of each fallback (SQL text) in turn. -#}
{% macro fhir_choice_start(json, name, fallbacks=[]) -%}
{%- set candidates = [
    json ~ " ->> '" ~ name ~ "DateTime'",
    json ~ " #>> '{" ~ name ~ "Period,start}'",
    json ~ " ->> '" ~ name ~ "Instant'",
] + fallbacks -%}
{{ fhir_date('coalesce(' ~ candidates | join(', ') ~ ')') }}
{%- endmacro %}

{#- The end date of a choice element `name`[x]: its dateTime, else its Period's end. -#}
{% macro fhir_choice_end(json, name) -%}
{{ fhir_date('coalesce(' ~ json ~ " ->> '" ~ name ~ "DateTime', " ~ json ~ " #>> '{"
    ~ name ~ "Period,end}')") }}
{%- endmacro %}

{#- The code of the first coding of the CodeableConcept at `path` (a jsonpath such as
    '$.clinicalStatus' or '$.hospitalization.admitSource'), optionally of one system. -#}
{% macro fhir_code(json, path, system=none) -%}
{%- if system -%}
(jsonb_path_query_first({{ json }}, '{{ path }}.coding[*] ? (@.system == "{{ system }}").code') #>> '{}')
{%- else -%}
(jsonb_path_query_first({{ json }}, '{{ path }}.coding[*].code') #>> '{}')
{%- endif -%}
{%- endmacro %}

{#- Every code of every coding of the CodeableConcepts at `path` (e.g. '$.category[*]'),
    as a text array. -#}
{% macro fhir_codes(json, path) -%}
array(select jsonb_path_query({{ json }}, '{{ path }}.coding[*].code') #>> '{}')
{%- endmacro %}

{#- A JSON number (e.g. Money.value, Quantity.value at `element`) as numeric; null when
    absent or not a number. -#}
{% macro fhir_number(json, element) -%}
{%- set path = "'{" ~ element ~ "}'" -%}
case when jsonb_typeof({{ json }} #> {{ path }}) = 'number'
    then cast({{ json }} #>> {{ path }} as numeric) end
{%- endmacro %}

{#- The drug of a MedicationRequest, -Statement, -Administration or -Dispense:
    medicationCodeableConcept, else the code of the contained Medication that
    medicationReference names ("#id"). A Medication that is a resource of its own is
    found by fhir_medication_id. -#}
{% macro fhir_medication_concept(json) -%}
coalesce(
        {{ json }} -> 'medicationCodeableConcept',
        jsonb_path_query_first({{ json }},
            '$.contained[*] ? (@.resourceType == "Medication" && @.id == $id).code',
            jsonb_build_object('id', ltrim({{ json }} #>> '{medicationReference,reference}', '#')))
    )
{%- endmacro %}

{% macro fhir_medication_id(json) -%}
case when {{ json }} #>> '{medicationReference,reference}' not like '#%'
        then {{ fhir_reference_id(json, 'medicationReference') }} end
{%- endmacro %}

{#- The first / last day of an ExplanationOfBenefit item's serviced[x] (date or Period). -#}
{% macro fhir_serviced_start(json) -%}
{{ fhir_date('coalesce(' ~ json ~ " ->> 'servicedDate', " ~ json ~ " #>> '{servicedPeriod,start}')") }}
{%- endmacro %}

{% macro fhir_serviced_end(json) -%}
{{ fhir_date('coalesce(' ~ json ~ " #>> '{servicedPeriod,end}', " ~ json ~ " ->> 'servicedDate')") }}
{%- endmacro %}
