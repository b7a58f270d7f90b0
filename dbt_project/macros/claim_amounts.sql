{#- The charge, patient-share and DRG columns of int_visit_details__<source> (see
    docs/adding_a_source.md), all null: for a source whose visit details carry none of
    them (CCLF5 lines, EHR encounters). Same names and order as the sources that do. -#}
{% macro no_charge_or_patient_shares() -%}
    cast(null as numeric) as total_charge,
    cast(null as numeric) as paid_by_patient,
    cast(null as numeric) as copay,
    cast(null as numeric) as coinsurance,
    cast(null as numeric) as deductible,
    cast(null as text) as drg_code
{%- endmacro %}
