-- Every event of a human session with its session and customer (bot sessions are kept out). The session is the
-- device session (int_session_events); the customer is the session's (int_sessions_lifecycle: first identified in
-- the session, else the device's latest identify before it, else the device's first identify after it), so
-- anonymous events before an identify belong to the customer retroactively and every event of a session has the
-- session's customer.

with

session_events as (

    select * from {{ ref('int_session_events') }}

),

sessions as (

    select
        session_id,
        customer_id

    from {{ ref('int_sessions_lifecycle') }}
    where bot_category is null

)

select
    session_events.session_id,
    session_events.device_id,
    session_events.session_event_index,
    -- the customer when known, else the device (anonymous:<anonymous id>)
    coalesce(sessions.customer_id, session_events.device_id) as visitor_id,
    sessions.customer_id as stitched_customer_id,
    session_events.event_id,
    session_events.event_type,
    session_events.event_name,
    session_events.anonymous_id,
    session_events.customer_id,
    session_events.occurred_at,
    session_events.page_path,
    session_events.product_area,
    session_events.latency_ms,
    session_events.error_code,
    session_events.order_id,
    session_events.revenue,
    session_events.utm_source,
    session_events.utm_medium,
    session_events.utm_campaign,
    session_events.app_version,
    session_events.user_agent,
    session_events.consent_preferences,
    session_events.trait_email,
    session_events.trait_phone,
    session_events.trait_first_name,
    session_events.trait_last_name,
    session_events.trait_country,
    session_events.trait_zip

from session_events
inner join sessions on session_events.session_id = sessions.session_id
