{#- CCLF Information Packet v38 rules shared by several models. -#}

{#- IP §5: a cancellation (CLM_ADJSMT_TYPE_CD = 1) carries the amounts of the claim it
    cancels; negate them before a version group's amounts are summed. -#}
{% macro cclf_signed(amount, adjustment_code='clm_adjsmt_type_cd') -%}
    case when {{ adjustment_code }} = '1' then -{{ amount }} else {{ amount }} end
{%- endmacro %}

{#- The current MBI of an identifier, through the resolved CCLF9 crosswalk (alias `xref`). -#}
{% macro cclf_current_mbi(mbi_column, xref_alias='xref') -%}
    coalesce({{ xref_alias }}.current_mbi, {{ mbi_column }})
{%- endmacro %}

{#- Identical rows re-delivered (regular and run-out files) must count once: a digest of
    the record's layout fields, i.e. everything but where and when it was delivered. -#}
{% macro cclf_record_digest(alias) -%}
    md5((to_jsonb({{ alias }}) - 'load_id' - 'file_name' - 'line_number' - 'delivery_date'
         - 'reporting_month' - 'is_runout')::text)
{%- endmacro %}
