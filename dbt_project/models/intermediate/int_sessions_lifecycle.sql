-- The sessions lifecycle manifest: one row per device session (bot traffic included, flagged by bot_category) with
-- its bounds, first event, first touch, figures and customer. int_sessions serves the human sessions to the rest
-- of the project.
--
-- Whose session it is (identity resolution, per device, in session order):
--   1. the first customer identified in the session (the first of its events carrying a user id);
--   2. else the customer last identified on that device before the session (a shared device belongs to whoever
--      identified on it most recently);
--   3. else the first customer identified on that device after it: browsing before the first identify belongs to
--      that customer, retroactively, however many days later the identify lands;
--   4. else nobody (an anonymous session).
-- One person on two devices has sessions on both (they may overlap), all theirs once both devices identified.
--
-- Incremental: for the devices in the pending scope (int_sessions_scope), the sessions at or after the device's
-- cut are aggregated again from int_session_events, the earlier ones are kept as they were, and the customers of
-- all the device's sessions are resolved again; the device's rows are replaced (custom strategy `rescope`).
-- depends_on: {{ ref('int_sessions_scope') }}

{{ config(
    materialized='incremental',
    incremental_strategy='rescope',
    on_schema_change='fail',
) }}

with

{% if is_incremental() %}

    scope as (

        {{ pending_scope(this) }}

    ),

{% endif %}

session_events as (

    select session_events.*

    from {{ ref('int_session_events') }} as session_events
    {% if is_incremental() %}
        inner join scope
            on
                session_events.device_id = scope.device_id
                and session_events.occurred_at >= scope.resessionize_from
    {% endif %}

),

figures as (

    select
        session_id,
        max(occurred_at) as ended_at,
        count(*) as events,
        arg_min(customer_id, session_event_index) filter (where customer_id is not null)
            as first_identified_customer_id,
        arg_max(customer_id, session_event_index) filter (where customer_id is not null)
            as last_identified_customer_id,
        -- arg_min_null: the first page view's path even when it has none (arg_min would skip to a later page)
        arg_min_null(page_path, session_event_index) filter (where event_type = 'page') as landing_path,
        count(*) filter (where event_type = 'page') as page_views,
        count(*) filter (where event_name = 'Error Occurred') as errors,
        -- averaged in exact decimal arithmetic: a float sum depends on the order rows arrive in
        cast(round(avg(cast(latency_ms as decimal(18, 3))), 1) as double) as avg_latency_ms,
        max(latency_ms) as max_latency_ms,
        round(quantile_cont(latency_ms, 0.5), 1) as p50_latency_ms,
        round(quantile_cont(latency_ms, 0.95), 1) as p95_latency_ms,
        -- engaged time: each gap between consecutive events counts, up to engaged_gap_cap_seconds (integer ms)
        cast(round(
            coalesce(
                sum(least(ms_since_previous, {{ var('engaged_gap_cap_seconds') }} * 1000))
                filter (where ms_since_previous is not null),
                0
            ) / 1000
        ) as bigint) as engaged_seconds,
        bool_or(event_name = 'Signed Up') as signed_up,
        bool_or(event_name = 'Product Added') as added_to_cart,
        bool_or(event_name = 'Order Completed') as purchased,
        count(distinct order_id) filter (where event_name = 'Order Completed') as orders,
        coalesce(sum(revenue) filter (where event_name = 'Order Completed'), 0) as revenue,
        min(occurred_at) filter (where event_name = 'Order Completed') as first_order_at,
        max(occurred_at) filter (where event_name = 'Order Completed') as last_order_at,
        arg_min(bot_category, session_event_index) filter (where bot_category is not null) as bot_category

    from session_events
    group by session_id

),

first_touches as (

    -- the session's first event decides its first touch, app version and channel; GA4's order: the UTM fields
    -- when there are any, else the referrer (host, or referral type) with the medium 'referral'
    select
        session_id,
        device_id,
        anonymous_id,
        event_id as first_event_id,
        occurred_at as started_at,
        utm_source,
        utm_medium,
        utm_campaign,
        referrer_host,
        app_version,
        user_agent,
        lower(
            case
                when coalesce(utm_source, utm_medium, utm_campaign) is not null then utm_source
                else coalesce(referrer_host, referrer_type)
            end
        ) as source,  -- noqa: RF04
        lower(
            case
                when coalesce(utm_source, utm_medium, utm_campaign) is not null then utm_medium
                when coalesce(referrer_host, referrer_type) is not null then 'referral'
            end
        ) as medium,
        lower(utm_campaign) as campaign

    from session_events
    where session_event_index = 1

),

channels as (

    {{ channel_groups('first_touches') }}

),

recomputed as (

    select
        first_touches.session_id,
        first_touches.device_id,
        first_touches.anonymous_id,
        first_touches.first_event_id,
        first_touches.started_at,
        figures.ended_at,
        figures.events,
        figures.first_identified_customer_id,
        figures.last_identified_customer_id,
        first_touches.utm_source,
        first_touches.utm_medium,
        first_touches.utm_campaign,
        first_touches.referrer_host,
        first_touches.source,
        first_touches.medium,
        channels.channel,
        first_touches.app_version,
        first_touches.user_agent,
        figures.landing_path,
        figures.page_views,
        figures.errors,
        figures.avg_latency_ms,
        figures.max_latency_ms,
        figures.p50_latency_ms,
        figures.p95_latency_ms,
        figures.engaged_seconds,
        figures.signed_up,
        figures.added_to_cart,
        figures.purchased,
        figures.orders,
        figures.revenue,
        figures.first_order_at,
        figures.last_order_at,
        figures.bot_category

    from first_touches
    inner join figures on first_touches.session_id = figures.session_id
    left join channels
        on
            first_touches.source is not distinct from channels.source
            and first_touches.medium is not distinct from channels.medium
            and first_touches.campaign is not distinct from channels.campaign

),

device_sessions as (

    {% if is_incremental() %}

        -- the device's sessions before its cut, as they were (only their customer is resolved again)
        select lifecycle.* exclude (customer_id, _run_at)  -- noqa: RF02

        from {{ this }} as lifecycle
        inner join scope
            on
                lifecycle.device_id = scope.device_id
                and lifecycle.started_at < scope.resessionize_from

        union all by name

    {% endif %}

    select * from recomputed

),

resolved as (

    select
        *,
        coalesce(
            first_identified_customer_id,
            last_value(last_identified_customer_id ignore nulls) over earlier_sessions,
            first_value(first_identified_customer_id ignore nulls) over later_sessions
        ) as customer_id

    from device_sessions
    window
        earlier_sessions as (
            partition by device_id order by started_at, session_id
            rows between unbounded preceding and 1 preceding
        ),
        later_sessions as (
            partition by device_id order by started_at, session_id
            rows between 1 following and unbounded following
        )

)

select
    session_id,
    device_id,
    anonymous_id,
    customer_id,
    first_identified_customer_id,
    last_identified_customer_id,
    first_event_id,
    started_at,
    ended_at,
    events,
    utm_source,
    utm_medium,
    utm_campaign,
    referrer_host,
    source,
    medium,
    channel,
    app_version,
    user_agent,
    landing_path,
    page_views,
    errors,
    avg_latency_ms,
    max_latency_ms,
    p50_latency_ms,
    p95_latency_ms,
    engaged_seconds,
    signed_up,
    added_to_cart,
    purchased,
    orders,
    revenue,
    first_order_at,
    last_order_at,
    bot_category,
    {{ build_started_at() }} as _run_at

from resolved
