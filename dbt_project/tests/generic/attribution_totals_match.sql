{#- campaign_attribution shares out every conversion under every model: per model, the attributed sign-ups, first
    purchases and purchases summed over all campaigns (the unattributed row included) equal the number of
    conversions of that kind, and the attributed revenue the purchases' revenue, so the models' totals are equal.
    Returns the models whose totals differ by more than `tolerance`, relative to the expected total (sums of many
    doubles, in no fixed order). -#}
{% test attribution_totals_match(model, conversions, tolerance=1e-9) %}
with

expected as (
    select
        count(*) filter (where conversion_kind = 'sign_up') as sign_ups,
        count(*) filter (where conversion_kind = 'first_purchase') as first_purchases,
        count(*) filter (where conversion_kind = 'purchase') as purchases,
        coalesce(sum(cast(revenue as double)) filter (where conversion_kind = 'purchase'), 0) as revenue
    from {{ conversions }}
),

attributed as (
    select
        attribution_models.model,
        coalesce(sum(campaigns.attributed_sign_ups), 0) as sign_ups,
        coalesce(sum(campaigns.attributed_first_purchases), 0) as first_purchases,
        coalesce(sum(campaigns.attributed_purchases), 0) as purchases,
        coalesce(sum(campaigns.attributed_revenue), 0) as revenue
    from ({{ attribution_models() }}) as attribution_models
    left join {{ model }} as campaigns on attribution_models.model = campaigns.model
    group by attribution_models.model
)

select attributed.*
from attributed
cross join expected
where
    abs(attributed.sign_ups - expected.sign_ups) > {{ tolerance }} * greatest(1, expected.sign_ups)
    or abs(attributed.first_purchases - expected.first_purchases) > {{ tolerance }} * greatest(1, expected.first_purchases)
    or abs(attributed.purchases - expected.purchases) > {{ tolerance }} * greatest(1, expected.purchases)
    or abs(attributed.revenue - expected.revenue) > {{ tolerance }} * greatest(1, abs(expected.revenue))
{% endtest %}
