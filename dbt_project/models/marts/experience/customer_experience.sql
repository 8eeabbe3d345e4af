with

sessions as (

    select * from {{ ref('int_sessions') }}
    where customer_id is not null

),

customer_events as (

    select * from {{ ref('int_events_sessionized') }}
    where stitched_customer_id is not null

),

acquisition as (

    select * from {{ ref('int_customer_acquisition') }}

),

session_figures as (

    select
        customer_id,
        count(*) as sessions,
        sum(page_views) as page_views,
        sum(errors) as errors,
        count(*) filter (where errors > 0) as error_sessions,
        sum(orders) as purchases,
        sum(revenue) as revenue

    from sessions
    group by customer_id

),

latency as (

    select
        stitched_customer_id as customer_id,
        -- averaged in exact decimal arithmetic: a float sum depends on the order rows arrive in
        cast(round(avg(cast(latency_ms as decimal(18, 3))), 1) as double) as avg_latency_ms,
        round(quantile_cont(latency_ms, 0.95), 1) as p95_latency_ms

    from customer_events
    where latency_ms is not null
    group by stitched_customer_id

)

select
    acquisition.customer_id,
    acquisition.acquisition_campaign_id,
    acquisition.first_seen_at,
    acquisition.signed_up_at,
    session_figures.sessions,
    cast(session_figures.page_views as bigint) as page_views,
    cast(session_figures.errors as bigint) as errors,
    session_figures.error_sessions,
    round(session_figures.error_sessions / session_figures.sessions, 4) as error_rate,
    latency.avg_latency_ms,
    latency.p95_latency_ms,
    cast(session_figures.purchases as bigint) as purchases,
    cast(session_figures.revenue as decimal(18, 2)) as revenue,
    session_figures.purchases > 0 as converted

from acquisition
inner join session_figures on acquisition.customer_id = session_figures.customer_id
left join latency on acquisition.customer_id = latency.customer_id
