-- What a release changed in each product area it touched: the area's errors, latency and satisfaction over the
-- release_window_days business days before its released_on against the release_window_days days from it
-- (released_on included, the after window cut at the last day with data). Errors and latency come from every human
-- session's events in the area (customers and anonymous visitors), satisfaction from the NPS and CSAT answers about
-- the area, whatever version they name. Every count is given so a change on a handful of sessions or answers is
-- read as such.

with

releases as (

    select distinct
        releases.product_version,
        releases.released_on,
        trim(areas.product_area) as product_area

    from {{ ref('stg_product__releases') }} as releases,
        unnest(releases.product_areas) as areas (product_area)
    where trim(areas.product_area) != ''

),

events as (

    select
        session_id,
        {{ business_day('occurred_at') }} as event_day,
        product_area,
        event_name = 'Error Occurred' as is_error,
        latency_ms

    from {{ ref('int_events_sessionized') }}
    where product_area is not null

),

answers as (

    select
        submitted_on,
        product_area,
        kind,
        nps_category,
        score

    from {{ ref('int_feedback') }}
    where kind in ('nps', 'csat')

),

last_day as (

    select least({{ as_of_date() }}, max(event_day)) as last_day
    from events

),

windowed_events as (

    select
        releases.product_version,
        releases.product_area,
        events.event_day >= releases.released_on as is_after,
        events.session_id,
        events.is_error,
        events.latency_ms

    from releases
    inner join events
        on
            releases.product_area = events.product_area
            and events.event_day >= releases.released_on - {{ var('release_window_days') }}
            and events.event_day < releases.released_on + {{ var('release_window_days') }}

),

experience as (

    select
        product_version,
        product_area,
        count(distinct session_id) filter (where not is_after) as sessions_before,
        count(distinct session_id) filter (where is_after) as sessions_after,
        count(distinct session_id) filter (where not is_after and is_error) as error_sessions_before,
        count(distinct session_id) filter (where is_after and is_error) as error_sessions_after,
        count(*) filter (where not is_after and is_error) as errors_before,
        count(*) filter (where is_after and is_error) as errors_after,
        round(quantile_cont(latency_ms, 0.95) filter (where not is_after), 1) as p95_latency_ms_before,
        round(quantile_cont(latency_ms, 0.95) filter (where is_after), 1) as p95_latency_ms_after

    from windowed_events
    group by product_version, product_area

),

satisfaction as (

    select
        releases.product_version,
        releases.product_area,
        count(*) filter (where answers.kind = 'nps' and answers.submitted_on < releases.released_on)
            as nps_responses_before,
        count(*) filter (where answers.kind = 'nps' and answers.submitted_on >= releases.released_on)
            as nps_responses_after,
        count(*) filter (where answers.nps_category = 'promoter' and answers.submitted_on < releases.released_on)
        - count(*) filter (where answers.nps_category = 'detractor' and answers.submitted_on < releases.released_on)
            as net_promoters_before,
        count(*) filter (where answers.nps_category = 'promoter' and answers.submitted_on >= releases.released_on)
        - count(*) filter (where answers.nps_category = 'detractor' and answers.submitted_on >= releases.released_on)
            as net_promoters_after,
        count(*) filter (where answers.kind = 'csat' and answers.submitted_on < releases.released_on)
            as csat_responses_before,
        count(*) filter (where answers.kind = 'csat' and answers.submitted_on >= releases.released_on)
            as csat_responses_after,
        count(*) filter (
            where answers.kind = 'csat' and answers.score >= 4 and answers.submitted_on < releases.released_on
        ) as satisfied_before,
        count(*) filter (
            where answers.kind = 'csat' and answers.score >= 4 and answers.submitted_on >= releases.released_on
        ) as satisfied_after

    from releases
    inner join answers
        on
            releases.product_area = answers.product_area
            and answers.submitted_on >= releases.released_on - {{ var('release_window_days') }}
            and answers.submitted_on < releases.released_on + {{ var('release_window_days') }}
    group by releases.product_version, releases.product_area

),

figures as (

    select
        releases.product_version,
        releases.released_on,
        releases.product_area,
        releases.released_on + {{ var('release_window_days') }} - 1 <= last_day.last_day as after_window_complete,
        coalesce(experience.sessions_before, 0) as sessions_before,
        coalesce(experience.sessions_after, 0) as sessions_after,
        coalesce(experience.error_sessions_before, 0) as error_sessions_before,
        coalesce(experience.error_sessions_after, 0) as error_sessions_after,
        coalesce(experience.errors_before, 0) as errors_before,
        coalesce(experience.errors_after, 0) as errors_after,
        experience.p95_latency_ms_before,
        experience.p95_latency_ms_after,
        coalesce(satisfaction.nps_responses_before, 0) as nps_responses_before,
        coalesce(satisfaction.nps_responses_after, 0) as nps_responses_after,
        satisfaction.net_promoters_before,
        satisfaction.net_promoters_after,
        coalesce(satisfaction.csat_responses_before, 0) as csat_responses_before,
        coalesce(satisfaction.csat_responses_after, 0) as csat_responses_after,
        satisfaction.satisfied_before,
        satisfaction.satisfied_after

    from releases
    cross join last_day
    left join experience
        on releases.product_version = experience.product_version and releases.product_area = experience.product_area
    left join satisfaction
        on
            releases.product_version = satisfaction.product_version
            and releases.product_area = satisfaction.product_area

),

rated as (

    select
        *,
        round(error_sessions_before / nullif(sessions_before, 0), 4) as error_rate_before,
        round(error_sessions_after / nullif(sessions_after, 0), 4) as error_rate_after,
        round(100.0 * net_promoters_before / nullif(nps_responses_before, 0), 1) as nps_before,
        round(100.0 * net_promoters_after / nullif(nps_responses_after, 0), 1) as nps_after,
        round(100.0 * satisfied_before / nullif(csat_responses_before, 0), 1) as csat_score_before,
        round(100.0 * satisfied_after / nullif(csat_responses_after, 0), 1) as csat_score_after

    from figures

)

select
    product_version,
    released_on,
    product_area,
    cast({{ var('release_window_days') }} as integer) as window_days,
    coalesce(after_window_complete, false) as after_window_complete,
    sessions_before,
    sessions_after,
    error_sessions_before,
    error_sessions_after,
    errors_before,
    errors_after,
    error_rate_before,
    error_rate_after,
    round(error_rate_after - error_rate_before, 4) as error_rate_change,
    p95_latency_ms_before,
    p95_latency_ms_after,
    round(p95_latency_ms_after - p95_latency_ms_before, 1) as p95_latency_ms_change,
    nps_responses_before,
    nps_responses_after,
    nps_before,
    nps_after,
    round(nps_after - nps_before, 1) as nps_change,
    csat_responses_before,
    csat_responses_after,
    csat_score_before,
    csat_score_after,
    round(csat_score_after - csat_score_before, 1) as csat_score_change

from rated
