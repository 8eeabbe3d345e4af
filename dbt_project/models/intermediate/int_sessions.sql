-- One row per human session (bot traffic is kept out: see int_sessions_lifecycle and the bot_traffic mart) with
-- its customer, first touch, channel, funnel flags and experience figures. The session's campaign is the UTM
-- campaign of its first event when that campaign is in the catalog (an unknown UTM, or none on the first event even
-- if a later event carries one, leaves the session unattributed).

with

lifecycle as (

    select * from {{ ref('int_sessions_lifecycle') }}
    where bot_category is null

),

campaigns as (

    select campaign_id from {{ ref('stg_marketing__campaigns') }}

)

select
    lifecycle.session_id,
    -- the customer when known, else the device (anonymous:<anonymous id>)
    coalesce(lifecycle.customer_id, lifecycle.device_id) as visitor_id,
    lifecycle.customer_id,
    lifecycle.anonymous_id,
    lifecycle.device_id,
    lifecycle.first_event_id,
    lifecycle.utm_campaign as first_utm_campaign,
    lifecycle.started_at,
    lifecycle.ended_at,
    lifecycle.landing_path,
    lifecycle.page_views,
    lifecycle.events,
    lifecycle.errors,
    lifecycle.avg_latency_ms,
    lifecycle.max_latency_ms,
    lifecycle.p50_latency_ms,
    lifecycle.p95_latency_ms,
    lifecycle.engaged_seconds,
    lifecycle.signed_up,
    lifecycle.added_to_cart,
    lifecycle.purchased,
    lifecycle.orders,
    lifecycle.revenue,
    lifecycle.first_order_at,
    lifecycle.last_order_at,
    lifecycle.app_version,
    lifecycle.utm_source,
    lifecycle.utm_medium,
    lifecycle.referrer_host,
    lifecycle.source,
    lifecycle.medium,
    lifecycle.channel,
    campaigns.campaign_id,
    datediff('second', lifecycle.started_at, lifecycle.ended_at) as duration_seconds

from lifecycle
left join campaigns on lifecycle.utm_campaign = campaigns.campaign_id
