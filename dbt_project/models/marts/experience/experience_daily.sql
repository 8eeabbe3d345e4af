-- The experience by day, campaign, channel, landing page and landing product area: one row per combination that
-- had sessions. Each session counts once, on the day it started, under its campaign and channel and the page (and
-- that page's product area) it landed on, so every figure adds up across rows to the sessions mart.
--
-- bounce: a session with at most one page view and no sign-up, cart or order. error rate: share of sessions with an
-- error (the same definition as customer_experience). p95 latency: over the page and API calls of those sessions.
--
-- Incremental (macros/sessions/daily_aggregates.sql): a build recomputes the days from the earliest session change
-- it has not seen yet and keeps the earlier days; `loop run --full-refresh` recomputes every day.
-- depends_on: {{ ref('int_sessions_scope') }}

{{ config(
    materialized='incremental',
    incremental_strategy='redo_days',
    redo_column='session_date',
    on_schema_change='fail',
    post_hook="{{ record_build() }}",
) }}

{%- set redo = redo_from_day() %}

with

sessions as (

    select * from {{ ref('int_sessions') }}
    where {{ redo_days_filter('started_at', redo) }}

),

session_events as (

    -- the events of those sessions are no earlier than their start
    select * from {{ ref('int_events_sessionized') }}
    where {{ redo_days_filter('occurred_at', redo) }}

),

landing_areas as (

    select
        session_id,
        -- arg_min_null: the landing page's area, even when that page names none
        arg_min_null(product_area, { 'at': occurred_at, 'id': event_id }) as landing_product_area

    from session_events
    where event_type = 'page'
    group by session_id

),

dimensioned as (

    select
        sessions.session_id,
        {{ business_day('sessions.started_at') }} as session_date,
        sessions.campaign_id,
        sessions.channel,
        sessions.landing_path,
        landing_areas.landing_product_area,
        sessions.page_views <= 1 and not (sessions.signed_up or sessions.added_to_cart or sessions.purchased)
            as bounced,
        sessions.signed_up,
        sessions.purchased,
        sessions.orders,
        sessions.errors > 0 as had_error,
        sessions.revenue

    from sessions
    left join landing_areas on sessions.session_id = landing_areas.session_id

),

latencies as (

    select
        dimensioned.session_date,
        dimensioned.campaign_id,
        dimensioned.channel,
        dimensioned.landing_path,
        dimensioned.landing_product_area,
        quantile_cont(session_events.latency_ms, 0.5) as p50_latency_ms,
        quantile_cont(session_events.latency_ms, 0.95) as p95_latency_ms

    from dimensioned
    inner join session_events on dimensioned.session_id = session_events.session_id
    where session_events.latency_ms is not null
    group by all

),

daily as (

    select
        session_date,
        campaign_id,
        channel,
        landing_path,
        landing_product_area,
        count(*) as sessions,
        count(*) filter (where bounced) as bounces,
        count(*) filter (where signed_up) as session_sign_ups,
        count(*) filter (where purchased) as converted_sessions,
        sum(orders) as orders,
        count(*) filter (where had_error) as error_sessions,
        sum(revenue) as revenue

    from dimensioned
    group by all

)

select
    daily.session_date,
    daily.campaign_id,
    daily.channel,
    daily.landing_path,
    daily.landing_product_area,
    daily.sessions,
    daily.bounces,
    round(daily.bounces / daily.sessions, 4) as bounce_rate,
    daily.session_sign_ups,
    daily.converted_sessions,
    round(daily.converted_sessions / daily.sessions, 4) as conversion_rate,
    cast(daily.orders as bigint) as orders,
    daily.error_sessions,
    round(daily.error_sessions / daily.sessions, 4) as error_rate,
    round(latencies.p50_latency_ms, 1) as p50_latency_ms,
    round(latencies.p95_latency_ms, 1) as p95_latency_ms,
    cast(daily.revenue as decimal(18, 2)) as revenue

from daily
left join latencies
    on
        daily.session_date = latencies.session_date
        and daily.campaign_id is not distinct from latencies.campaign_id
        and daily.channel is not distinct from latencies.channel
        and daily.landing_path is not distinct from latencies.landing_path
        and daily.landing_product_area is not distinct from latencies.landing_product_area
