{#- Marts live in the default schema (main); staging and intermediate in their own schemas, named as configured. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name if custom_schema_name is not none else target.schema }}
{%- endmacro %}
