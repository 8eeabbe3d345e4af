-- campaign_attribution per business week: what each campaign cost that week and brought under each attribution
-- model (conversions credited in the week they happened). One row per campaign, model and week in which the campaign
-- had ad spend or was credited (weeks with neither have no row), plus the unattributed credit (campaign_id null)
-- per model and week. Summed over the weeks, every figure equals campaign_attribution's (its suite checks it).

with

credits as (

    select
        campaign_id,
        model,
        conversion_kind,
        cast(date_trunc('week', {{ business_day('converted_at') }}) as date) as week_start,
        -- summed as exact decimals, as in campaign_attribution: the sums do not depend on row order
        cast(credit as decimal(38, 18)) as credit,
        cast(revenue_credit as decimal(38, 18)) as revenue_credit

    from {{ ref('conversion_credits') }}

),

campaigns as (

    select * from {{ ref('stg_marketing__campaigns') }}

),

attribution_models as (

    {{ attribution_models() }}

),

weekly_spend as (

    select
        campaign_id,
        cast(date_trunc('week', performance_date) as date) as week_start,
        sum(spend) as spend

    from {{ ref('stg_marketing__ad_performance_days') }}
    group by campaign_id, cast(date_trunc('week', performance_date) as date)

),

weekly_credits as (

    select
        campaign_id,
        model,
        week_start,
        sum(credit) filter (where conversion_kind = 'sign_up') as attributed_sign_ups,
        sum(credit) filter (where conversion_kind = 'first_purchase') as attributed_first_purchases,
        sum(credit) filter (where conversion_kind = 'purchase') as attributed_purchases,
        sum(revenue_credit) filter (where conversion_kind = 'purchase') as attributed_revenue

    from credits
    group by campaign_id, model, week_start

),

keys as (

    select
        weekly_spend.campaign_id,
        attribution_models.model,
        weekly_spend.week_start

    from weekly_spend
    cross join attribution_models

    union

    select
        campaign_id,
        model,
        week_start

    from weekly_credits

),

joined as (

    select
        keys.week_start,
        keys.campaign_id,
        campaigns.campaign_name,
        keys.model,
        cast(coalesce(weekly_credits.attributed_sign_ups, 0) as double) as attributed_sign_ups,
        cast(coalesce(weekly_credits.attributed_first_purchases, 0) as double) as attributed_first_purchases,
        cast(coalesce(weekly_credits.attributed_purchases, 0) as double) as attributed_purchases,
        cast(coalesce(weekly_credits.attributed_revenue, 0) as double) as attributed_revenue,
        cast(coalesce(weekly_spend.spend, 0) as decimal(18, 2)) as spend

    from keys
    left join campaigns on keys.campaign_id = campaigns.campaign_id
    left join weekly_spend
        on
            keys.campaign_id = weekly_spend.campaign_id
            and keys.week_start = weekly_spend.week_start
    left join weekly_credits
        on
            keys.campaign_id is not distinct from weekly_credits.campaign_id
            and keys.model = weekly_credits.model
            and keys.week_start = weekly_credits.week_start

)

select
    *,
    attributed_revenue / nullif(cast(spend as double), 0) as attributed_roas,
    cast(spend as double) / nullif(attributed_first_purchases, 0) as attributed_cac

from joined
