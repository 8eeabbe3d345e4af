-- What the actions changed, measured the same way every cycle and fixed in advance.
--
-- Audience exports: the cohort (exported) against its holdout (kept out of the export), from the action on, on
-- four outcomes: conversion (share of customers who ordered), repurchase (of those who had ordered before, the share
-- who ordered again), error rate (share of their sessions with an error) and satisfaction (share of NPS 9-10, CSAT
-- and review 4-5 among their answers). The difference is cohort minus holdout, with a 95% interval (normal
-- approximation for a difference of two proportions); nothing is claimed while either side has fewer than 10.
--
-- Signals: the symptom's rate in its product area after the first release naming that area (after the action)
-- against the same length of time before that release (at most 14 days each side): the share of the area's sessions
-- with that error code or a call of slow_page_ms or more, or the share of the area's scored answers that are low.
-- A trend, not a controlled comparison, and labelled so.

with

actions as (

    select * from {{ ref('stg_cycle__actions') }}

),

arms as (

    select
        actions.action_id,
        actions.taken_at,
        members.customer_id,
        members.arm

    from actions
    inner join {{ ref('stg_cycle__action_members') }} as members on actions.action_id = members.action_id
    where actions.action_kind = 'audience_export'

),

orders as (

    select
        stitched_customer_id as customer_id,
        occurred_at
    from {{ ref('int_events_sessionized') }}
    where event_name = 'Order Completed' and stitched_customer_id is not null

),

sessions as (

    select
        customer_id,
        started_at,
        errors
    from {{ ref('int_sessions') }}
    where customer_id is not null

),

answers as (

    select
        customer_id,
        submitted_at,
        (kind = 'nps' and score >= 9) or (kind in ('csat', 'review') and score >= 4) as positive

    from {{ ref('stg_product__feedback_items') }}
    where kind in ('nps', 'csat', 'review')

),

per_customer as (

    select
        arms.action_id,
        arms.arm,
        arms.customer_id,
        exists(
            select 1 from orders
            where orders.customer_id = arms.customer_id and orders.occurred_at > arms.taken_at
        ) as ordered_after,
        exists(
            select 1 from orders
            where orders.customer_id = arms.customer_id and orders.occurred_at <= arms.taken_at
        ) as ordered_before,
        (
            select count(*) from sessions
            where sessions.customer_id = arms.customer_id and sessions.started_at > arms.taken_at
        ) as sessions_after,
        (
            select count(*) from sessions
            where
                sessions.customer_id = arms.customer_id and sessions.started_at > arms.taken_at
                and sessions.errors > 0
        ) as error_sessions_after,
        (
            select count(*) from answers
            where answers.customer_id = arms.customer_id and answers.submitted_at > arms.taken_at
        ) as answers_after,
        (
            select count(*) from answers
            where
                answers.customer_id = arms.customer_id and answers.submitted_at > arms.taken_at
                and answers.positive
        ) as positive_answers_after

    from arms

),

per_arm as (

    select
        action_id,
        arm,
        count(*) as customers,
        count(*) filter (where ordered_after) as ordered_after,
        count(*) filter (where ordered_before) as ordered_before,
        count(*) filter (where ordered_before and ordered_after) as reordered,
        sum(sessions_after) as sessions_after,
        sum(error_sessions_after) as error_sessions_after,
        sum(answers_after) as answers_after,
        sum(positive_answers_after) as positive_answers_after

    from per_customer
    group by action_id, arm

),

audience_metrics as (

    select
        action_id,
        arm,
        'conversion' as metric,
        'higher' as better_when,
        customers as n,
        ordered_after as k
    from per_arm
    union all
    select
        action_id,
        arm,
        'repurchase' as metric,
        'higher' as better_when,
        ordered_before as n,
        reordered as k
    from per_arm
    union all
    select
        action_id,
        arm,
        'error rate' as metric,
        'lower' as better_when,
        sessions_after as n,
        error_sessions_after as k
    from per_arm
    union all
    select
        action_id,
        arm,
        'satisfaction' as metric,
        'higher' as better_when,
        answers_after as n,
        positive_answers_after as k
    from per_arm

),

metric_names as (

    select distinct
        action_id,
        metric,
        better_when
    from audience_metrics

),

audience_outcomes as (

    select
        actions.action_id,
        metrics.metric,
        metrics.better_when,
        'holdout' as comparison,
        cast(coalesce(cohort.n, 0) as bigint) as cohort_n,
        cast(coalesce(cohort.k, 0) as bigint) as cohort_k,
        cast(coalesce(holdout.n, 0) as bigint) as comparison_n,
        cast(coalesce(holdout.k, 0) as bigint) as comparison_k

    from actions
    inner join metric_names as metrics
        on actions.action_id = metrics.action_id
    left join audience_metrics as cohort
        on
            metrics.action_id = cohort.action_id and metrics.metric = cohort.metric
            and cohort.arm = 'treatment'
    left join audience_metrics as holdout
        on
            metrics.action_id = holdout.action_id and metrics.metric = holdout.metric
            and holdout.arm = 'holdout'

),

-- signals: the first release naming the area after the action, and the symptom's rate before and after it

releases as (

    select * from {{ ref('stg_product__releases') }}

),

signal_actions as (

    select
        actions.action_id,
        actions.product_area,
        actions.symptom,
        min(releases.released_on) as fixed_on,
        arg_min(releases.product_version, releases.released_on) as fixed_in

    from actions
    left join releases
        on
            list_contains(releases.product_areas, actions.product_area)
            and releases.released_on >= {{ business_day('actions.taken_at') }}
    where actions.action_kind = 'signal'
    group by actions.action_id, actions.product_area, actions.symptom

),

area_events as (

    select * from {{ ref('int_events_sessionized') }}
    where product_area is not null

),

window_end as (

    select least({{ as_of_date() }}, max({{ business_day('occurred_at') }})) as last_day
    from area_events

),

signal_periods as (

    select
        signal_actions.*,
        cast(least(window_end.last_day - signal_actions.fixed_on + 1, 14) as integer) as span_days

    from signal_actions, window_end
    where signal_actions.fixed_on is not null and signal_actions.fixed_on <= window_end.last_day

),

area_answers as (

    select
        product_area,
        submitted_at,
        (kind = 'nps' and score <= 6) or (kind in ('csat', 'review') and score <= 2) as low

    from {{ ref('stg_product__feedback_items') }}
    where kind in ('nps', 'csat', 'review') and product_area is not null

),

-- error and slow-call signals: the area's sessions that show that very symptom (the error code, or a call of
-- slow_page_ms or more); low-score signals: the area's scored answers that are low

signal_session_rates as (

    select
        signal_periods.action_id,
        {{ business_day('area_events.occurred_at') }} >= signal_periods.fixed_on as after_fix,
        count(distinct area_events.session_id) as n,
        count(distinct area_events.session_id) filter (
            where
            (
                area_events.event_name = 'Error Occurred'
                and 'error ' || coalesce(area_events.error_code, 'unknown') = signal_periods.symptom
            )
            or (
                starts_with(signal_periods.symptom, 'calls')
                and area_events.latency_ms >= {{ var('slow_page_ms') }}
            )
        ) as k

    from signal_periods
    inner join area_events
        on
            signal_periods.product_area = area_events.product_area
            and {{ business_day('area_events.occurred_at') }} >= signal_periods.fixed_on - signal_periods.span_days
            and {{ business_day('area_events.occurred_at') }} < signal_periods.fixed_on + signal_periods.span_days
    where not starts_with(signal_periods.symptom, 'low scores')
    group by signal_periods.action_id, after_fix

),

signal_answer_rates as (

    select
        signal_periods.action_id,
        {{ business_day('area_answers.submitted_at') }} >= signal_periods.fixed_on as after_fix,
        count(*) as n,
        count(*) filter (where area_answers.low) as k

    from signal_periods
    inner join area_answers
        on
            signal_periods.product_area = area_answers.product_area
            and {{ business_day('area_answers.submitted_at') }} >= signal_periods.fixed_on - signal_periods.span_days
            and {{ business_day('area_answers.submitted_at') }} < signal_periods.fixed_on + signal_periods.span_days
    where starts_with(signal_periods.symptom, 'low scores')
    group by signal_periods.action_id, after_fix

),

signal_rates as (

    select * from signal_session_rates
    union all
    select * from signal_answer_rates

),

signal_outcomes as (

    select
        signal_actions.action_id,
        case
            when starts_with(signal_actions.symptom, 'low scores')
                then 'answers about ' || signal_actions.product_area || ' with a low score'
            else 'sessions in ' || signal_actions.product_area || ' with the symptom'
        end as metric,
        'lower' as better_when,
        coalesce('before release ' || signal_actions.fixed_in, 'no release has named the area yet') as comparison,
        cast(coalesce(after_fix.n, 0) as bigint) as cohort_n,
        cast(coalesce(after_fix.k, 0) as bigint) as cohort_k,
        cast(coalesce(before_fix.n, 0) as bigint) as comparison_n,
        cast(coalesce(before_fix.k, 0) as bigint) as comparison_k

    from signal_actions
    left join signal_rates as after_fix
        on signal_actions.action_id = after_fix.action_id and after_fix.after_fix
    left join signal_rates as before_fix
        on signal_actions.action_id = before_fix.action_id and not before_fix.after_fix

),

all_outcomes as (

    select * from audience_outcomes
    union all
    select * from signal_outcomes

),

rates as (

    select
        *,
        cohort_k / nullif(cohort_n, 0) as cohort_rate,
        comparison_k / nullif(comparison_n, 0) as comparison_rate

    from all_outcomes

),

intervals as (

    select
        *,
        cohort_rate - comparison_rate as difference,
        1.96 * sqrt(
            cohort_rate * (1 - cohort_rate) / nullif(cohort_n, 0)
            + comparison_rate * (1 - comparison_rate) / nullif(comparison_n, 0)
        ) as margin

    from rates

)

select
    intervals.action_id,
    actions.action_kind,
    actions.subject,
    intervals.metric,
    intervals.better_when,
    intervals.comparison,
    intervals.cohort_n,
    round(intervals.cohort_rate, 4) as cohort_rate,
    intervals.comparison_n,
    round(intervals.comparison_rate, 4) as comparison_rate,
    round(intervals.difference, 4) as difference,
    round(intervals.difference - intervals.margin, 4) as difference_low,
    round(intervals.difference + intervals.margin, 4) as difference_high,
    case
        when intervals.cohort_n < 10 or intervals.comparison_n < 10 then 'too few to tell yet'
        when intervals.difference - intervals.margin > 0
            then case intervals.better_when when 'higher' then 'better' else 'worse' end
        when intervals.difference + intervals.margin < 0
            then case intervals.better_when when 'lower' then 'better' else 'worse' end
        else 'no clear difference'
    end as verdict

from intervals
inner join actions on intervals.action_id = actions.action_id
