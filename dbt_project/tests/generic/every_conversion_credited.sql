{#- Counted, never lost: every conversion of `conversions` appears under every attribution model (macro
    attribution_model_names), and nothing else does. Returns the (conversion, model) pairs missing on either side. -#}
{% test every_conversion_credited(model, conversions, conversion_key='conversion_id', model_column='model') %}
with

expected as (
    select conversions.{{ conversion_key }} as conversion_key, attribution_models.model
    from {{ conversions }} as conversions
    cross join ({{ attribution_models() }}) as attribution_models
),

credited as (
    select distinct {{ conversion_key }} as conversion_key, {{ model_column }} as model
    from {{ model }}
)

select expected.conversion_key, expected.model, 'not credited' as problem
from expected
left join credited
    on expected.conversion_key = credited.conversion_key and expected.model = credited.model
where credited.conversion_key is null

union all

select credited.conversion_key, credited.model, 'not a conversion under a known model' as problem
from credited
left join expected
    on credited.conversion_key = expected.conversion_key and credited.model = expected.model
where expected.conversion_key is null
{% endtest %}
