-- Bot and monitoring traffic kept out of the sessions, counted so that nothing is dropped silently: one row per day
-- and category of seeds/bot_user_agents.csv (a session counts under the category of its first bot event).

select
    {{ business_day('started_at') }} as session_date,
    bot_category,
    count(*) as sessions,
    cast(sum(events) as bigint) as events,
    count(distinct device_id) as devices

from {{ ref('int_sessions_lifecycle') }}
where bot_category is not null
group by all
