{#- The rows of a raw source that had landed by the cycle's as-of date (`loop run` passes `as_of_date`). -#}
{% macro landed_as_of(relation) -%}
    (select * from {{ relation }} where _partition_date <= cast('{{ var("as_of_date") }}' as date))
{%- endmacro %}
