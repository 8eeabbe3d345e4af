-- Every event with its stitched visitor and session. A visitor is the customer when known (directly or through
-- the identity map, retroactively for earlier anonymous events), else the anonymous id. A session ends after
-- 30 minutes without events; the calendar day plays no part, so sessions cross midnight.

with

events as (

    select * from {{ ref('stg_experience__events') }}

),

identity_map as (

    select * from {{ ref('int_identity_map') }}

),

stitched as (

    select
        events.*,
        coalesce(events.customer_id, identity_map.customer_id) as stitched_customer_id,
        coalesce(events.customer_id, identity_map.customer_id, 'anonymous:' || events.anonymous_id) as visitor_id

    from events
    left join identity_map on events.anonymous_id = identity_map.anonymous_id

),

gaps as (

    select
        *,
        case
            when lag(occurred_at) over visitor_timeline is null then 1
            when occurred_at - lag(occurred_at) over visitor_timeline > interval 30 minute then 1
            else 0
        end as starts_session

    from stitched
    window visitor_timeline as (partition by visitor_id order by occurred_at, event_id)

),

numbered as (

    select
        *,
        sum(starts_session) over (
            partition by visitor_id order by occurred_at, event_id rows unbounded preceding
        ) as session_number

    from gaps

)

select
    md5(visitor_id || '#' || session_number::varchar) as session_id,
    session_number,
    visitor_id,
    stitched_customer_id,
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
    app_version,
    user_agent,
    consent_preferences,
    trait_email,
    trait_phone,
    trait_first_name,
    trait_last_name,
    trait_country,
    trait_zip

from numbered
