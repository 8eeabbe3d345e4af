-- Sessions of known customers that ended without a purchase after an error or a slow page or API call: the bad
-- experiences audiences and signals start from. One row per session, with what went wrong and where.

with

events as (

    select * from {{ ref('int_events_sessionized') }}
    where stitched_customer_id is not null

),

sessions as (

    select
        session_id,
        any_value(stitched_customer_id) as customer_id,
        min(occurred_at) as started_at,
        max(occurred_at) as ended_at,
        count(*) filter (where event_name = 'Error Occurred') as errors,
        count(*) filter (where latency_ms >= {{ var('slow_page_ms') }}) as slow_calls,
        max(latency_ms) as max_latency_ms,
        list(distinct product_area order by product_area)
        filter (where event_name = 'Error Occurred' and product_area is not null) as error_areas,
        list(distinct coalesce(error_code, 'unknown') order by coalesce(error_code, 'unknown'))
        filter (where event_name = 'Error Occurred') as error_codes,
        list(distinct product_area order by product_area)
        filter (where latency_ms >= {{ var('slow_page_ms') }} and product_area is not null) as slow_areas,
        bool_or(event_name = 'Order Completed') as purchased,
        bool_or(event_name = 'Product Added' or page_path like '/checkout%') as reached_checkout

    from events
    group by session_id

)

select
    session_id,
    customer_id,
    started_at,
    ended_at,
    errors,
    slow_calls,
    max_latency_ms,
    coalesce(error_areas, []) as error_areas,
    coalesce(error_codes, []) as error_codes,
    coalesce(slow_areas, []) as slow_areas,
    reached_checkout

from sessions
where (errors > 0 or slow_calls > 0) and not purchased
