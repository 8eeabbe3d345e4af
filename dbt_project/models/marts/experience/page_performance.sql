-- What each page and product area delivered, by day and campaign: page views, API calls, errors and latency
-- percentiles over the page loads and API calls themselves (not per session). The campaign is the session's.
--
-- Incremental (macros/sessions/daily_aggregates.sql): a build recomputes the days from the earliest session change
-- it has not seen yet and keeps the earlier days; `loop run --full-refresh` recomputes every day.
-- depends_on: {{ ref('int_sessions_scope') }}

{{ config(
    materialized='incremental',
    incremental_strategy='redo_days',
    redo_column='event_date',
    on_schema_change='fail',
    post_hook="{{ record_build() }}",
) }}

{%- set redo = redo_from_day() %}

with

session_events as (

    select * from {{ ref('int_events_sessionized') }}
    where {{ redo_days_filter('occurred_at', redo) }}

),

sessions as (

    select
        session_id,
        campaign_id
    from {{ ref('int_sessions') }}

),

events as (

    select
        {{ business_day('session_events.occurred_at') }} as event_date,
        coalesce(session_events.page_path, '(none)') as page_path,
        coalesce(session_events.product_area, '(none)') as product_area,
        sessions.campaign_id,
        session_events.session_id,
        session_events.event_type,
        session_events.event_name,
        session_events.latency_ms

    from session_events
    inner join sessions on session_events.session_id = sessions.session_id
    where
        session_events.event_type = 'page'
        or session_events.event_name in ('API Request', 'Error Occurred')

)

select
    event_date,
    page_path,
    product_area,
    campaign_id,
    count(distinct session_id) as sessions,
    count(*) filter (where event_type = 'page') as page_views,
    count(*) filter (where event_name = 'API Request') as api_calls,
    count(*) filter (where event_name = 'Error Occurred') as errors,
    count(distinct session_id) filter (where event_name = 'Error Occurred') as error_sessions,
    round(quantile_cont(latency_ms, 0.5), 1) as p50_latency_ms,
    round(quantile_cont(latency_ms, 0.95), 1) as p95_latency_ms

from events
group by all
