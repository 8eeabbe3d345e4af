-- What each piece of feedback was said after: the customer's acquisition (campaign and channel of their first
-- session), what they lived on the platform in the feedback_context_days days before it (sessions, Error Occurred
-- events and the p95 latency of pages and calls, overall and in the feedback's product area; the window is the 24-hour
-- days before submitted_at, submitted_at itself excluded), and the release they were on (the feedback's
-- product_version and its released_on; null when the version is not a known release).

with

feedback as (

    select
        feedback_id,
        customer_id,
        submitted_at,
        product_area,
        product_version

    from {{ ref('int_feedback') }}

),

events as (

    select
        stitched_customer_id as customer_id,
        session_id,
        occurred_at,
        product_area,
        event_name,
        latency_ms

    from {{ ref('int_events_sessionized') }}
    where stitched_customer_id is not null

),

acquisition as (

    select * from {{ ref('int_customer_acquisition') }}

),

releases as (

    select * from {{ ref('stg_product__releases') }}

),

prior_events as (

    select
        feedback.feedback_id,
        events.session_id,
        events.latency_ms,
        events.event_name = 'Error Occurred' as is_error,
        coalesce(events.product_area = feedback.product_area, false) as in_area

    from feedback
    inner join events
        on
            feedback.customer_id = events.customer_id
            and feedback.submitted_at - to_days({{ var('feedback_context_days') }}) <= events.occurred_at
            and feedback.submitted_at > events.occurred_at

),

experience as (

    select
        feedback_id,
        count(distinct session_id) as prior_sessions,
        count(*) filter (where is_error) as prior_errors,
        round(quantile_cont(latency_ms, 0.95), 1) as prior_p95_latency_ms,
        count(distinct session_id) filter (where in_area) as prior_area_sessions,
        count(*) filter (where is_error and in_area) as prior_area_errors,
        round(quantile_cont(latency_ms, 0.95) filter (where in_area), 1) as prior_area_p95_latency_ms

    from prior_events
    group by feedback_id

)

select
    feedback.feedback_id,
    acquisition.acquisition_campaign_id,
    acquisition.acquisition_channel,
    coalesce(experience.prior_sessions, 0) as prior_sessions,
    coalesce(experience.prior_errors, 0) as prior_errors,
    experience.prior_p95_latency_ms,
    coalesce(experience.prior_area_sessions, 0) as prior_area_sessions,
    coalesce(experience.prior_area_errors, 0) as prior_area_errors,
    experience.prior_area_p95_latency_ms,
    releases.released_on,
    case
        when releases.released_on is not null
            then {{ business_day('feedback.submitted_at') }} - releases.released_on
    end as days_since_release

from feedback
left join acquisition on feedback.customer_id = acquisition.customer_id
left join experience on feedback.feedback_id = experience.feedback_id
left join releases on feedback.product_version = releases.product_version
