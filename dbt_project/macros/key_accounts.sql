{#
    Whether a customer_tiers row is a key account for the alert rules: class A, or a
    key-account score that makes it one (is_key_account). One definition for every rule.
#}
{% macro is_alert_key_account(relation=none) -%}
    {%- set prefix = relation ~ '.' if relation else '' -%}
    ({{ prefix }}abc_class = 'A' or coalesce({{ prefix }}is_key_account, false))
{%- endmacro %}
