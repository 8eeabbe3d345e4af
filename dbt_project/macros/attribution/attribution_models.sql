{#- The attribution models conversion_credits computes, one row each (column `model`); campaign_attribution reports
    every one of them, and the tests check every conversion is credited under each (README "Attribution"). -#}
{% macro attribution_model_names() -%}
    {{ return(['first_touch', 'last_touch', 'last_non_direct', 'linear', 'position_based']) }}
{%- endmacro %}


{% macro attribution_models() -%}
    select unnest([
        {%- for name in attribution_model_names() %}'{{ name }}'{% if not loop.last %}, {% endif %}{% endfor -%}
    ]) as model
{%- endmacro %}
