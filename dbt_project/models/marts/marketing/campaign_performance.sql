with

campaigns as (

    select * from {{ ref('stg_marketing__campaigns') }}

),

ad_days as (

    select
        campaign_id,
        sum(spend) as spend,
        sum(impressions) as impressions,
        sum(clicks) as clicks

    from {{ ref('stg_marketing__ad_performance_days') }}
    group by campaign_id

),

touches as (

    select
        campaign_id,
        count(*) filter (where action = 'sent') as touches_sent,
        count(*) filter (where action = 'clicked') as touches_clicked

    from {{ ref('stg_marketing__touches') }}
    group by campaign_id

),

campaign_sessions as (

    select
        campaign_id,
        count(*) as sessions,
        count(*) filter (where signed_up) as session_sign_ups,
        sum(orders) as session_purchases,
        sum(revenue) as session_revenue

    from {{ ref('int_sessions') }}
    where campaign_id is not null
    group by campaign_id

),

acquired as (

    select
        acquisition_campaign_id as campaign_id,
        count(*) as customers_acquired

    from {{ ref('int_customer_acquisition') }}
    where acquisition_campaign_id is not null
    group by acquisition_campaign_id

),

joined as (

    select
        campaigns.campaign_id,
        campaigns.campaign_name,
        campaigns.channel,
        campaigns.objective,
        campaigns.promise,
        campaigns.start_date,
        campaigns.end_date,
        campaigns.budget,
        cast(coalesce(ad_days.spend, 0) as decimal(18, 2)) as spend,
        cast(coalesce(ad_days.impressions, 0) as bigint) as impressions,
        cast(coalesce(ad_days.clicks, 0) as bigint) as clicks,
        coalesce(touches.touches_sent, 0) as touches_sent,
        coalesce(touches.touches_clicked, 0) as touches_clicked,
        coalesce(campaign_sessions.sessions, 0) as sessions,
        coalesce(campaign_sessions.session_sign_ups, 0) as session_sign_ups,
        cast(coalesce(campaign_sessions.session_purchases, 0) as bigint) as session_purchases,
        cast(coalesce(campaign_sessions.session_revenue, 0) as decimal(18, 2)) as session_revenue,
        coalesce(acquired.customers_acquired, 0) as customers_acquired

    from campaigns
    left join ad_days on campaigns.campaign_id = ad_days.campaign_id
    left join touches on campaigns.campaign_id = touches.campaign_id
    left join campaign_sessions on campaigns.campaign_id = campaign_sessions.campaign_id
    left join acquired on campaigns.campaign_id = acquired.campaign_id

)

select
    *,
    round(clicks / nullif(impressions, 0), 4) as ctr,
    round(spend / nullif(customers_acquired, 0), 2) as cac,
    round(session_revenue / nullif(spend, 0), 4) as session_roas

from joined
