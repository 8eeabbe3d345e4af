-- Every event with its device session, bot traffic included (flagged by bot_category): the incremental base of the
-- sessions. Views on top of it serve the rest of the project (int_events_sessionized: human sessions' events with
-- their customer).
--
-- Sessions are cut per device (a browser or app install: its anonymous id; server-side calls with only a user id:
-- that user's stream), never per stitched person: a session ends when the device sends nothing for
-- `session_timeout_minutes` (30; a gap of exactly 30 minutes continues it), and the calendar day plays no part, so
-- sessions cross midnight. Identity stitching, even when it arrives days later, never moves a boundary; it only
-- decides whose the session is (int_sessions_lifecycle). The session id is the md5 of the session's first event id
-- (order: time, then event id): it never changes when later data arrives, unless an even earlier event of the
-- session lands late, which re-keys the session (as Snowplow does).
--
-- Incremental: each build replaces, for the devices in the pending scope (int_sessions_scope), the events at or
-- after the device's cut, re-read whole from staging and sessionized again (custom strategy `rescope`). A full
-- refresh sessionizes every event.
-- depends_on: {{ ref('int_sessions_scope') }}

{{ config(
    materialized='incremental',
    incremental_strategy='rescope',
    rescope_column='occurred_at',
    on_schema_change='fail',
) }}

with

{% if is_incremental() %}

    scope as (

        {{ pending_scope(this) }}

    ),

{% endif %}

events as (

    select staged.*

    from {{ ref('stg_experience__events') }} as staged
    {% if is_incremental() %}
        inner join scope
            on
                staged.device_id = scope.device_id
                and staged.occurred_at >= scope.resessionize_from
    {% endif %}

),

user_agents as (

    select distinct user_agent

    from events
    where user_agent is not null

),

bot_agents as (

    select
        user_agents.user_agent,
        -- the most specific category first (lowest priority), then the pattern, for a stable choice
        arg_min(bots.category, struct_pack(priority := bots.priority, pattern := bots.pattern)) as bot_category

    from user_agents
    inner join {{ ref('bot_user_agents') }} as bots on regexp_matches(user_agents.user_agent, bots.pattern, 'i')
    group by user_agents.user_agent

),

timeline as (

    select
        events.*,
        bot_agents.bot_category,
        lag(events.occurred_at) over device_timeline as previous_at

    from events
    left join bot_agents on events.user_agent = bot_agents.user_agent
    window device_timeline as (partition by events.device_id order by events.occurred_at, events.event_id)

),

numbered as (

    select
        *,
        sum(
            case
                when
                    previous_at is null
                    or occurred_at - previous_at > interval '{{ var("session_timeout_minutes") }} minutes'
                    then 1
                else 0
            end
        ) over (
            partition by device_id order by occurred_at, event_id rows unbounded preceding
        ) as session_number

    from timeline

),

keyed as (

    select
        *,
        first_value(event_id) over device_session as first_event_id,
        min(occurred_at) over device_session as session_started_at,
        row_number() over device_session as session_event_index

    from numbered
    window device_session as (partition by device_id, session_number order by occurred_at, event_id)

)

select
    md5(first_event_id) as session_id,
    device_id,
    session_started_at,
    session_event_index,
    -- milliseconds since the previous event of the session (null for its first event): engaged time's gaps
    case when session_event_index > 1 then (epoch_us(occurred_at) - epoch_us(previous_at)) // 1000 end
        as ms_since_previous,
    event_id,
    event_type,
    event_name,
    anonymous_id,
    customer_id,
    occurred_at,
    page_path,
    product_area,
    latency_ms,
    error_code,
    order_id,
    revenue,
    utm_source,
    utm_medium,
    utm_campaign,
    referrer_host,
    referrer_type,
    app_version,
    user_agent,
    bot_category,
    consent_preferences,
    trait_email,
    trait_phone,
    trait_first_name,
    trait_last_name,
    trait_country,
    trait_zip,
    landed_on,
    landed_at,
    {{ build_started_at() }} as _run_at

from keyed
