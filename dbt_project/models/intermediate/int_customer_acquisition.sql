-- How each known customer was acquired: the campaign of their first session (null when organic or unknown), that
-- session's channel (the channel grouping, e.g. Paid Search, Organic Search, Direct), when they were first seen and
-- when they signed up.

with

sessions as (

    select * from {{ ref('int_sessions') }}
    where customer_id is not null

),

signups as (

    select
        stitched_customer_id as customer_id,
        min(occurred_at) as signed_up_at

    from {{ ref('int_events_sessionized') }}
    where event_name = 'Signed Up' and stitched_customer_id is not null
    group by stitched_customer_id

),

first_sessions as (

    select
        customer_id,
        -- arg_min_null, not arg_min: an organic first session (null campaign) must win over a later campaign
        -- session (arg_min skips nulls); ties on the start are broken by the session id
        arg_min_null(campaign_id, { 'at': started_at, 'id': session_id }) as acquisition_campaign_id,
        arg_min_null(channel, { 'at': started_at, 'id': session_id }) as acquisition_channel,
        min(started_at) as first_seen_at

    from sessions
    group by customer_id

)

select
    first_sessions.customer_id,
    first_sessions.acquisition_campaign_id,
    first_sessions.acquisition_channel,
    first_sessions.first_seen_at,
    signups.signed_up_at

from first_sessions
left join signups on first_sessions.customer_id = signups.customer_id
