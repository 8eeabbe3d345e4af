-- The sessions lifecycle scope (after Snowplow's sessions lifecycle manifest, made exact): an append-only log where
-- every incremental build writes, for each device whose events changed since the last build, the point its
-- sessions must be recomputed from. The session models (int_session_events, int_sessions_lifecycle) read the
-- entries newer than their own last build (macro pending_scope) and replace those devices' sessions from there.
--
-- What changed is found by comparing the events as of this build (stg_experience__events) with the events the
-- sessions were built from (int_session_events): new events (landed since), late ones, re-landed or removed ones.
-- Daily landing only appends, which a fingerprint of the event versions confirms cheaply; otherwise the two sets
-- are compared event by event (macro sessions_scope_state).
--
-- The cut for a device whose earliest changed event is at t: if its last unchanged event before t is more than
-- the session timeout earlier (or there is none), t itself (the change starts a new session); otherwise the start
-- of the session that event belongs to. No session straddles the cut, so everything before it stays as it is. Late
-- events are at most LOOP_LOOKBACK_DAYS late, so a device's cut is at most that far back plus the session the late
-- event joins; nothing older is read again.
--
-- Each build also writes one row without a device that carries the fingerprint of the session rules (seeds and
-- vars, macro session_rules_fingerprint): when the rules changed since the last build, every device is in scope.
-- A full refresh (`loop run --full-refresh`) starts the log over (the models are rebuilt from all events).

{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail') }}

{%- set state = sessions_scope_state() %}

with

staged as (

    select
        event_id,
        landed_at,
        device_id,
        occurred_at

    from {{ ref('stg_experience__events') }}

),

processed as (

    {% if state.processed is not none %}
        select
            event_id,
            landed_at,
            device_id,
            occurred_at,
            session_started_at

        from {{ state.processed }}
    {% else %}
        select
            event_id,
            landed_at,
            device_id,
            occurred_at,
            occurred_at as session_started_at

        from staged
        where false
    {% endif %}

),

changed as (

    {% if state.mode == 'appended' %}
        -- landing only appended since the last build: the events landed since
        select
            device_id,
            occurred_at

        from staged
        where landed_at > cast('{{ state.landed_until }}' as timestamptz)
    {% elif state.mode == 'diff' %}
        -- every event version on one side only: landed since, re-landed, removed, or brought in by the as-of date
        select
            staged.device_id,
            staged.occurred_at

        from staged
        anti join processed on staged.event_id = processed.event_id and staged.landed_at = processed.landed_at

        union all

        select
            processed.device_id,
            processed.occurred_at

        from processed
        anti join staged on processed.event_id = staged.event_id and processed.landed_at = staged.landed_at
    {% else %}
        select
            device_id,
            occurred_at

        from staged
        where false
    {% endif %}

),

firsts as (

    select
        device_id,
        min(occurred_at) as changed_from

    from changed
    group by device_id

),

cuts as (

    select
        firsts.device_id,
        case
            when
                max(processed.occurred_at) is null
                or firsts.changed_from - max(processed.occurred_at)
                > interval '{{ var("session_timeout_minutes") }} minutes'
                then firsts.changed_from
            else max(processed.session_started_at)
        end as resessionize_from

    from firsts
    left join processed
        on
            firsts.device_id = processed.device_id
            and firsts.changed_from > processed.occurred_at
    group by firsts.device_id, firsts.changed_from

    {% if state.mode == 'all' and is_incremental() %}
        -- every device from its beginning: the session rules changed, or the sessions were never built
        union all

        select
            device_id,
            cast('-infinity' as timestamptz) as resessionize_from

        from (
            select device_id from staged
            union
            select device_id from processed
        ) as devices
    {% endif %}

),

entries as (

    select
        device_id,
        resessionize_from,
        cast(null as varchar) as rules_fingerprint

    from cuts

    union all

    select
        cast(null as varchar) as device_id,
        cast(null as timestamptz) as resessionize_from,
        {{ session_rules_fingerprint() }} as rules_fingerprint

)

select
    {{ build_started_at() }} as scoped_at,
    device_id,
    resessionize_from,
    rules_fingerprint

from entries
