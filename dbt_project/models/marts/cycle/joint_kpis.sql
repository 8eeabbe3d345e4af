-- Joint KPIs: one grain, the week x the acquisition cohort (the week the customers were first seen), at which
-- marketing (what acquiring the cohort cost), the platform (what the cohort lived that week) and product (what it
-- said, and whether it bought again) read the same customers together. Every cohort has a row for every week from
-- its own to the last week with data, so cohort curves have no holes; a week with ad spend but no new customer is
-- a cohort of 0 customers (its spend is shown, its CAC is null).

with

acquisition as (

    select
        customer_id,
        acquisition_campaign_id,
        cast(date_trunc('week', {{ business_day('first_seen_at') }}) as date) as cohort_week

    from {{ ref('int_customer_acquisition') }}

),

ad_days as (

    select * from {{ ref('stg_marketing__ad_performance_days') }}

),

paid_campaigns as (

    select distinct campaign_id from ad_days

),

sessions as (

    select
        customer_id,
        errors,
        cast(date_trunc('week', {{ business_day('started_at') }}) as date) as week_start

    from {{ ref('int_sessions') }}
    where customer_id is not null

),

calls as (

    select
        stitched_customer_id as customer_id,
        latency_ms,
        cast(date_trunc('week', {{ business_day('occurred_at') }}) as date) as week_start

    from {{ ref('int_events_sessionized') }}
    where stitched_customer_id is not null and latency_ms is not null

),

answers as (

    select
        customer_id,
        kind,
        score,
        nps_category,
        cast(date_trunc('week', {{ business_day('submitted_at') }}) as date) as week_start

    from {{ ref('feedback') }}

),

orders as (

    select
        customer_id,
        revenue,
        cast(date_trunc('week', {{ business_day('converted_at') }}) as date) as week_start,
        row_number() over (partition by customer_id order by converted_at, conversion_id) as order_number

    from {{ ref('int_conversions') }}
    where conversion_kind = 'purchase'

),

last_week as (

    select
        cast(date_trunc(
            'week', least({{ as_of_date() }}, max({{ business_day('started_at') }}))
        ) as date) as week_start

    from {{ ref('int_sessions') }}

),

acquired as (

    select
        acquisition.cohort_week,
        count(*) as cohort_customers,
        count(paid_campaigns.campaign_id) as paid_customers

    from acquisition
    left join paid_campaigns on acquisition.acquisition_campaign_id = paid_campaigns.campaign_id
    group by acquisition.cohort_week

),

spend as (

    select
        cast(date_trunc('week', performance_date) as date) as cohort_week,
        sum(spend) as cohort_spend

    from ad_days
    group by cast(date_trunc('week', performance_date) as date)

),

cohorts as (

    select
        coalesce(acquired.cohort_week, spend.cohort_week) as cohort_week,
        coalesce(acquired.cohort_customers, 0) as cohort_customers,
        coalesce(acquired.paid_customers, 0) as paid_customers,
        coalesce(spend.cohort_spend, 0) as cohort_spend

    from acquired
    full outer join spend on acquired.cohort_week = spend.cohort_week

),

grid as (

    select
        cohorts.*,
        cast(unnest(generate_series(cohorts.cohort_week, last_week.week_start, interval 7 day)) as date) as week_start

    from cohorts
    cross join last_week

),

lived as (

    select
        acquisition.cohort_week,
        sessions.week_start,
        count(distinct sessions.customer_id) as active_customers,
        count(*) as sessions,
        count(*) filter (where sessions.errors > 0) as error_sessions

    from sessions
    inner join acquisition on sessions.customer_id = acquisition.customer_id
    group by all

),

latency as (

    select
        acquisition.cohort_week,
        calls.week_start,
        round(quantile_cont(calls.latency_ms, 0.95), 1) as p95_latency_ms

    from calls
    inner join acquisition on calls.customer_id = acquisition.customer_id
    group by all

),

said as (

    select
        acquisition.cohort_week,
        answers.week_start,
        count(*) filter (where answers.kind = 'nps') as nps_responses,
        count(*) filter (where answers.nps_category = 'promoter') as promoters,
        count(*) filter (where answers.nps_category = 'detractor') as detractors,
        count(*) filter (where answers.kind = 'csat') as csat_responses,
        count(*) filter (where answers.kind = 'csat' and answers.score >= 4) as satisfied_responses,
        count(*) filter (where answers.kind = 'ticket') as tickets

    from answers
    inner join acquisition on answers.customer_id = acquisition.customer_id
    group by all

),

bought as (

    select
        acquisition.cohort_week,
        orders.week_start,
        count(distinct orders.customer_id) as purchasing_customers,
        count(*) as orders,
        sum(orders.revenue) as revenue,
        count(*) filter (where orders.order_number = 1) as first_buyers,
        count(*) filter (where orders.order_number = 2) as new_repeat_buyers

    from orders
    inner join acquisition on orders.customer_id = acquisition.customer_id
    group by all

),

weekly as (

    select
        grid.week_start,
        grid.cohort_week,
        cast((grid.week_start - grid.cohort_week) // 7 as integer) as weeks_since_acquisition,
        grid.cohort_customers,
        grid.paid_customers,
        cast(grid.cohort_spend as decimal(18, 2)) as cohort_spend,
        coalesce(lived.active_customers, 0) as active_customers,
        coalesce(lived.sessions, 0) as sessions,
        coalesce(lived.error_sessions, 0) as error_sessions,
        latency.p95_latency_ms,
        coalesce(said.nps_responses, 0) as nps_responses,
        said.promoters,
        said.detractors,
        coalesce(said.csat_responses, 0) as csat_responses,
        said.satisfied_responses,
        coalesce(said.tickets, 0) as tickets,
        coalesce(bought.purchasing_customers, 0) as purchasing_customers,
        coalesce(bought.orders, 0) as orders,
        cast(coalesce(bought.revenue, 0) as decimal(18, 2)) as revenue,
        sum(coalesce(bought.first_buyers, 0)) over cohort_to_date as buyers_to_date,
        sum(coalesce(bought.new_repeat_buyers, 0)) over cohort_to_date as repeat_buyers_to_date,
        sum(cast(coalesce(bought.revenue, 0) as decimal(18, 2))) over cohort_to_date as revenue_to_date

    from grid
    left join lived on grid.cohort_week = lived.cohort_week and grid.week_start = lived.week_start
    left join latency on grid.cohort_week = latency.cohort_week and grid.week_start = latency.week_start
    left join said on grid.cohort_week = said.cohort_week and grid.week_start = said.week_start
    left join bought on grid.cohort_week = bought.cohort_week and grid.week_start = bought.week_start
    window cohort_to_date as (partition by grid.cohort_week order by grid.week_start)

)

select
    week_start,
    cohort_week,
    weeks_since_acquisition,
    cohort_customers,
    paid_customers,
    cohort_spend,
    cast(round(cohort_spend / nullif(cohort_customers, 0), 2) as decimal(18, 2)) as blended_cac,
    cast(round(cohort_spend / nullif(paid_customers, 0), 2) as decimal(18, 2)) as paid_cac,
    active_customers,
    sessions,
    error_sessions,
    round(error_sessions / nullif(sessions, 0), 4) as error_rate,
    p95_latency_ms,
    nps_responses,
    round(100.0 * (promoters - detractors) / nullif(nps_responses, 0), 1) as nps,
    csat_responses,
    round(100.0 * satisfied_responses / nullif(csat_responses, 0), 1) as csat_score,
    tickets,
    purchasing_customers,
    orders,
    revenue,
    cast(buyers_to_date as bigint) as buyers_to_date,
    cast(repeat_buyers_to_date as bigint) as repeat_buyers_to_date,
    round(repeat_buyers_to_date / nullif(buyers_to_date, 0), 4) as repurchase_rate,
    cast(round(revenue_to_date / nullif(cohort_customers, 0), 2) as decimal(18, 2)) as revenue_per_customer_to_date

from weekly
