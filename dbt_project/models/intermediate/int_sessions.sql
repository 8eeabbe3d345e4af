-- One row per session with its funnel flags and experience figures. The session's campaign is the UTM campaign
-- of its first event when that campaign is in the catalog (unknown UTMs are unattributed).

with

session_events as (

    select * from {{ ref('int_events_sessionized') }}

),

campaigns as (

    select campaign_id from {{ ref('stg_marketing__campaigns') }}

),

sessions as (

    select
        session_id,
        visitor_id,
        any_value(stitched_customer_id) as customer_id,
        arg_min(anonymous_id, occurred_at) filter (where anonymous_id is not null) as anonymous_id,
        arg_min(utm_campaign, occurred_at) as first_utm_campaign,
        min(occurred_at) as started_at,
        max(occurred_at) as ended_at,
        arg_min(page_path, occurred_at) filter (where event_type = 'page') as landing_path,
        count(*) filter (where event_type = 'page') as page_views,
        count(*) as events,
        count(*) filter (where event_name = 'Error Occurred') as errors,
        -- averaged in exact decimal arithmetic: a float sum depends on the order rows arrive in
        cast(round(avg(cast(latency_ms as decimal(18, 3))), 1) as double) as avg_latency_ms,
        max(latency_ms) as max_latency_ms,
        bool_or(event_name = 'Signed Up') as signed_up,
        bool_or(event_name = 'Product Added') as added_to_cart,
        bool_or(event_name = 'Order Completed') as purchased,
        count(distinct order_id) filter (where event_name = 'Order Completed') as orders,
        coalesce(sum(revenue) filter (where event_name = 'Order Completed'), 0) as revenue,
        arg_min(app_version, occurred_at) as app_version

    from session_events
    group by session_id, visitor_id

)

select
    sessions.*,
    campaigns.campaign_id,
    datediff('second', sessions.started_at, sessions.ended_at) as duration_seconds

from sessions
left join campaigns on sessions.first_utm_campaign = campaigns.campaign_id
