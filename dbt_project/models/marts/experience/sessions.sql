-- One row per human session (rules in int_session_events and int_sessions_lifecycle). A view of the incremental
-- session models: a build recomputes only the sessions that changed, and this mart never copies them all.

{{ config(materialized='view') }}

with

sessions as (

    select * from {{ ref('int_sessions') }}

)

select
    session_id,
    anonymous_id,
    customer_id,
    campaign_id,
    started_at,
    ended_at,
    duration_seconds,
    landing_path,
    page_views,
    events,
    errors,
    avg_latency_ms,
    max_latency_ms,
    signed_up,
    added_to_cart,
    purchased,
    orders,
    cast(revenue as decimal(18, 2)) as revenue,
    app_version,
    device_id,
    channel,
    source,
    medium,
    engaged_seconds,
    p50_latency_ms,
    p95_latency_ms

from sessions
