-- Every consent choice of every known customer, from both places it arrives: Segment's
-- context.consent.categoryPreferences on any event (one choice per category listed) and the consent platform's
-- export. Categories are compared in lower case.

with

event_preferences as (

    select
        stitched_customer_id as customer_id,
        occurred_at as decided_at,
        consent_preferences,
        unnest(json_keys(consent_preferences)) as category_key

    from {{ ref('int_events_sessionized') }}
    where consent_preferences is not null and stitched_customer_id is not null

),

from_events as (

    select
        customer_id,
        lower(category_key) as consent_category,
        cast(
            json_extract(consent_preferences, '$.' || cast(to_json(category_key) as varchar)) as boolean
        ) as granted,  -- noqa: RF04
        decided_at,
        'event' as origin

    from event_preferences

),

from_platform as (

    select
        customer_id,
        consent_category,
        granted,
        decided_at,
        'consent platform' as origin

    from {{ ref('stg_marketing__consent_records') }}

)

select * from from_events
union all
select * from from_platform
