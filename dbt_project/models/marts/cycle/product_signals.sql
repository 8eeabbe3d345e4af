-- What to fix first: each product area's symptoms over the last signal_window_days up to the as-of date (an error
-- code, slow pages or API calls, low scores), with the customers and revenue they touch, the campaigns whose promise
-- depends on that area and whose customers met it, and up to three things those customers wrote about it (scrubbed
-- text: personal data replaced).

with

events as (

    select * from {{ ref('int_events_sessionized') }}

),

window_end as (

    select least({{ as_of_date() }}, max({{ business_day('occurred_at') }})) as last_day
    from events

),

recent_events as (

    select events.*
    from events, window_end
    where
        {{ business_day('events.occurred_at') }} <= window_end.last_day
        and {{ business_day('events.occurred_at') }} > window_end.last_day - {{ var('signal_window_days') }}

),

feedback as (

    -- the unified feedback: its text is the scrubbed one (personal data replaced), never the raw text
    select feedback_items.*
    from {{ ref('int_feedback') }} as feedback_items, window_end
    where
        {{ business_day('feedback_items.submitted_at') }} <= window_end.last_day
        and {{ business_day('feedback_items.submitted_at') }} > window_end.last_day - {{ var('signal_window_days') }}

),

occurrences as (

    select
        product_area,
        'error' as symptom_kind,
        'error ' || coalesce(error_code, 'unknown') as symptom,
        visitor_id,
        stitched_customer_id as customer_id,
        occurred_at

    from recent_events
    where event_name = 'Error Occurred' and product_area is not null

    union all

    select
        product_area,
        'slow' as symptom_kind,
        'calls of {{ var("slow_page_ms") }} ms or more' as symptom,
        visitor_id,
        stitched_customer_id as customer_id,
        occurred_at

    from recent_events
    where latency_ms >= {{ var('slow_page_ms') }} and product_area is not null

    union all

    select
        product_area,
        'low_score' as symptom_kind,
        'low scores (NPS 0-6, CSAT or review 1-2)' as symptom,
        customer_id as visitor_id,
        customer_id,
        submitted_at as occurred_at

    from feedback
    where (kind = 'nps' and score <= 6) or (kind in ('csat', 'review') and score <= 2)

),

symptoms as (

    select
        product_area,
        symptom_kind,
        symptom,
        count(*) as occurrences,
        count(distinct visitor_id) as visitors_affected,
        count(distinct customer_id) as customers_affected,
        min(occurred_at) as first_seen_at,
        max(occurred_at) as last_seen_at

    from occurrences
    group by product_area, symptom_kind, symptom

),

affected as (

    select distinct
        product_area,
        symptom_kind,
        symptom,
        customer_id
    from occurrences
    where customer_id is not null

),

customers as (

    select * from {{ ref('customer_experience') }}

),

revenue as (

    select
        affected.product_area,
        affected.symptom_kind,
        affected.symptom,
        cast(coalesce(sum(customers.revenue), 0) as decimal(18, 2)) as customer_revenue

    from affected
    left join customers on affected.customer_id = customers.customer_id
    group by affected.product_area, affected.symptom_kind, affected.symptom

),

campaigns as (

    select * from {{ ref('stg_marketing__campaigns') }}

),

broken_promises as (

    select
        affected.product_area,
        affected.symptom_kind,
        affected.symptom,
        list(distinct campaigns.campaign_id order by campaigns.campaign_id) as campaigns_broken

    from affected
    inner join customers on affected.customer_id = customers.customer_id
    inner join campaigns
        on
            customers.acquisition_campaign_id = campaigns.campaign_id
            and list_contains(campaigns.promise_areas, affected.product_area)
    group by affected.product_area, affected.symptom_kind, affected.symptom

),

examples as (

    select
        affected.product_area,
        affected.symptom_kind,
        affected.symptom,
        list(feedback.scrubbed_text order by feedback.submitted_at desc, feedback.feedback_id asc)[1:3]
            as example_feedback

    from affected
    inner join feedback
        on
            affected.customer_id = feedback.customer_id
            and affected.product_area = feedback.product_area
            and feedback.scrubbed_text is not null
    group by affected.product_area, affected.symptom_kind, affected.symptom

),

joined as (

    select
        md5(symptoms.product_area || '|' || symptoms.symptom_kind || '|' || symptoms.symptom) as signal_id,
        symptoms.product_area,
        symptoms.symptom_kind,
        symptoms.symptom,
        cast(symptoms.occurrences as bigint) as occurrences,
        cast(symptoms.visitors_affected as bigint) as visitors_affected,
        cast(symptoms.customers_affected as bigint) as customers_affected,
        coalesce(revenue.customer_revenue, cast(0 as decimal(18, 2))) as customer_revenue,
        coalesce(broken_promises.campaigns_broken, []) as campaigns_broken,
        coalesce(examples.example_feedback, []) as example_feedback,
        symptoms.first_seen_at,
        symptoms.last_seen_at

    from symptoms
    left join revenue
        on
            symptoms.product_area = revenue.product_area
            and symptoms.symptom_kind = revenue.symptom_kind
            and symptoms.symptom = revenue.symptom
    left join broken_promises
        on
            symptoms.product_area = broken_promises.product_area
            and symptoms.symptom_kind = broken_promises.symptom_kind
            and symptoms.symptom = broken_promises.symptom
    left join examples
        on
            symptoms.product_area = examples.product_area
            and symptoms.symptom_kind = examples.symptom_kind
            and symptoms.symptom = examples.symptom

)

select
    row_number() over (
        order by customers_affected desc, visitors_affected desc, customer_revenue desc, signal_id asc
    ) as signal_rank,
    *

from joined
