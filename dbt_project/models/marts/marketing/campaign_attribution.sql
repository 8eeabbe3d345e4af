-- What each campaign brought under each attribution model (conversion_credits), against what it cost. One row per
-- campaign of the catalog (and any other campaign credited) and model, plus one row per model for the unattributed
-- credit (campaign_id null: conversions without a touch in the window, and touches without a campaign). Every model
-- shares out the same conversions, so each model's totals over all rows are equal (test attribution_totals_match).
-- attributed_revenue sums the revenue credits of purchases only: a first purchase is also a purchase, its revenue
-- is counted once.

with

credits as (

    select * from {{ ref('conversion_credits') }}

),

campaigns as (

    select * from {{ ref('stg_marketing__campaigns') }}

),

ad_days as (

    select
        campaign_id,
        sum(spend) as spend

    from {{ ref('stg_marketing__ad_performance_days') }}
    group by campaign_id

),

attribution_models as (

    {{ attribution_models() }}

),

campaign_keys as (

    select campaign_id from campaigns

    union

    select campaign_id from credits

    union

    -- the unattributed row
    select cast(null as varchar) as campaign_id

),

exact_credits as (

    -- summed as exact decimals: a double sum depends on the order rows arrive in; these sums are reproducible
    -- (the expectation suite recomputes them to the last bit)
    select
        campaign_id,
        model,
        conversion_kind,
        cast(credit as decimal(38, 18)) as credit,
        cast(revenue_credit as decimal(38, 18)) as revenue_credit

    from credits

),

campaign_credits as (

    select
        campaign_id,
        model,
        sum(credit) filter (where conversion_kind = 'sign_up') as attributed_sign_ups,
        sum(credit) filter (where conversion_kind = 'first_purchase') as attributed_first_purchases,
        sum(credit) filter (where conversion_kind = 'purchase') as attributed_purchases,
        sum(revenue_credit) filter (where conversion_kind = 'purchase') as attributed_revenue

    from exact_credits
    group by campaign_id, model

),

joined as (

    select
        campaign_keys.campaign_id,
        campaigns.campaign_name,
        attribution_models.model,
        cast(coalesce(campaign_credits.attributed_sign_ups, 0) as double) as attributed_sign_ups,
        cast(coalesce(campaign_credits.attributed_first_purchases, 0) as double) as attributed_first_purchases,
        cast(coalesce(campaign_credits.attributed_purchases, 0) as double) as attributed_purchases,
        cast(coalesce(campaign_credits.attributed_revenue, 0) as double) as attributed_revenue,
        cast(coalesce(ad_days.spend, 0) as decimal(18, 2)) as spend

    from campaign_keys
    cross join attribution_models
    left join campaigns on campaign_keys.campaign_id = campaigns.campaign_id
    left join ad_days on campaign_keys.campaign_id = ad_days.campaign_id
    left join campaign_credits
        on
            campaign_keys.campaign_id is not distinct from campaign_credits.campaign_id
            and attribution_models.model = campaign_credits.model

)

select
    *,
    attributed_revenue / nullif(cast(spend as double), 0) as attributed_roas,
    cast(spend as double) / nullif(attributed_first_purchases, 0) as attributed_cac

from joined
