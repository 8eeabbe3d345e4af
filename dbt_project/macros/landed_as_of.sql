{#- The rows of a raw source that had landed by the cycle's as-of date (macros/as_of_date.sql). -#}
{% macro landed_as_of(relation) -%}
    (select * from {{ relation }} where _partition_date <= {{ as_of_date() }})
{%- endmacro %}
