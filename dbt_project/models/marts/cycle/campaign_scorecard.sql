-- The cycle scorecard: for each campaign, what it cost and brought, and what the customers it acquired then lived
-- through on the platform and said about the product.
--
-- promise_kept_score (0-100) = 100 * (0.30 * conversion_rate
--                                    + 0.30 * (1 - error_rate)
--                                    + 0.20 * latency_score   -- 1 at <= 500 ms average, 0 at >= 3000 ms
--                                    + 0.20 * nps_score)      -- (nps + 100) / 200; 0.5 when nobody answered
-- Campaigns that acquired nobody have no score and rank last.

with

campaigns as (

    select * from {{ ref('campaign_performance') }}

),

customers as (

    select * from {{ ref('customer_experience') }}
    where acquisition_campaign_id is not null

),

nps_answers as (

    select * from {{ ref('feedback') }}
    where kind = 'nps' and acquisition_campaign_id is not null

),

experience as (

    select
        acquisition_campaign_id as campaign_id,
        count(*) as customers_acquired,
        sum(purchases) as purchases,
        sum(revenue) as revenue,
        sum(sessions) as sessions,
        count(*) filter (where converted) as converted_customers,
        sum(error_sessions) as error_sessions,
        -- session-weighted, in exact decimal arithmetic (a float sum depends on the order rows arrive in)
        sum(cast(avg_latency_ms as decimal(18, 1)) * sessions)
        / nullif(sum(sessions) filter (where avg_latency_ms is not null), 0) as avg_latency_ms

    from customers
    group by acquisition_campaign_id

),

said as (

    select
        acquisition_campaign_id as campaign_id,
        count(*) as feedback_responses,
        round(
            100.0 * (
                count(*) filter (where nps_category = 'promoter')
                - count(*) filter (where nps_category = 'detractor')
            ) / count(*),
            1
        ) as nps

    from nps_answers
    group by acquisition_campaign_id

),

scored as (

    select
        campaigns.campaign_id,
        campaigns.campaign_name,
        campaigns.channel,
        campaigns.promise,
        campaigns.spend,
        coalesce(experience.customers_acquired, 0) as customers_acquired,
        cast(coalesce(experience.purchases, 0) as bigint) as purchases,
        cast(coalesce(experience.revenue, 0) as decimal(18, 2)) as revenue,
        round(campaigns.spend / nullif(experience.customers_acquired, 0), 2) as cac,
        round(experience.revenue / nullif(campaigns.spend, 0), 4) as roas,
        cast(coalesce(experience.sessions, 0) as bigint) as sessions,
        round(experience.converted_customers / nullif(experience.customers_acquired, 0), 4) as conversion_rate,
        round(experience.error_sessions / nullif(experience.sessions, 0), 4) as error_rate,
        cast(round(experience.avg_latency_ms, 1) as double) as avg_latency_ms,
        coalesce(said.feedback_responses, 0) as feedback_responses,
        said.nps

    from campaigns
    left join experience on campaigns.campaign_id = experience.campaign_id
    left join said on campaigns.campaign_id = said.campaign_id

),

with_score as (

    select
        *,
        round(
            100 * (
                0.30 * conversion_rate
                + 0.30 * (1 - error_rate)
                + 0.20 * coalesce(greatest(0, least(1, (3000 - avg_latency_ms) / 2500)), 0)
                + 0.20 * coalesce((nps + 100) / 200, 0.5)
            ),
            1
        ) as promise_kept_score

    from scored

)

select
    *,
    row_number() over (order by promise_kept_score desc nulls last, campaign_id asc) as scorecard_rank

from with_score
