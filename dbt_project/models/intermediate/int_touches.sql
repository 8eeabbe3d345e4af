-- One row per marketing touch of a known customer, the paths attribution credits (conversion_credits): every
-- session of the customer (its campaign, channel, source and medium are its first event's, as in int_sessions) and
-- every owned-channel touch (email/push sent, opened, clicked). Owned touches get their channel from the same GA4
-- rules as sessions (seeds/channel_groups.csv, macro channel_groups) with the ESP channel as source and medium
-- ('email' / 'email': Email; 'push' / 'push': Mobile Push Notifications) and the campaign id as the campaign, so a
-- message and the session its click opens (utm_source and utm_medium email, utm_campaign the campaign id) fall in
-- the same channel.

with

sessions as (

    select * from {{ ref('int_sessions') }}
    where customer_id is not null

),

owned_touches as (

    select
        touch_id,
        customer_id,
        touched_at,
        campaign_id,
        channel as esp_channel,
        action,
        lower(channel) as source,  -- noqa: RF04
        lower(channel) as medium,
        lower(campaign_id) as campaign

    from {{ ref('stg_marketing__touches') }}
    where customer_id is not null

),

owned_channels as (

    {{ channel_groups('owned_touches') }}

),

session_touches as (

    select
        session_id as touch_id,
        customer_id,
        started_at as touched_at,
        'session' as touch_kind,
        campaign_id,
        channel,
        source,
        medium

    from sessions

),

owned_touch_rows as (

    select
        owned_touches.touch_id,
        owned_touches.customer_id,
        owned_touches.touched_at,
        owned_touches.esp_channel || ' ' || owned_touches.action as touch_kind,
        owned_touches.campaign_id,
        owned_channels.channel,
        owned_touches.source,
        owned_touches.medium

    from owned_touches
    left join owned_channels
        on
            owned_touches.source is not distinct from owned_channels.source
            and owned_touches.medium is not distinct from owned_channels.medium
            and owned_touches.campaign is not distinct from owned_channels.campaign

),

unioned as (

    select * from session_touches
    union all
    select * from owned_touch_rows

)

select
    touch_id,
    customer_id,
    touched_at,
    touch_kind,
    campaign_id,
    channel,
    source,
    medium,
    channel = 'Direct' as is_direct

from unioned
