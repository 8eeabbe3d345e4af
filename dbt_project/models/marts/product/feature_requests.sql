-- One row per feature request theme: requests worded alike (the same scrubbed text once lower-cased, accents,
-- punctuation and spacing removed) are one theme. Ranked by the distinct customers who asked, then by their revenue
-- (every purchase they made up to the as-of date), then by votes. Requests whose text is missing or not yet enriched
-- form one theme without text.

with

requests as (

    select * from {{ ref('int_feedback') }}
    where kind = 'feature_request'

),

revenue as (

    select
        customer_id,
        sum(revenue) as revenue

    from {{ ref('int_conversions') }}
    where conversion_kind = 'purchase'
    group by customer_id

),

themes as (

    select
        md5(coalesce(normalised_text, '')) as request_key,
        list_sort(list_distinct(flatten(list(topics)))) as topics,
        list(distinct product_area order by product_area) as product_areas,
        count(*) as requests,
        count(distinct customer_id) as customers,
        coalesce(sum(votes), 0) as votes,
        min(submitted_at) as first_requested_at,
        max(submitted_at) as last_requested_at

    from requests
    group by md5(coalesce(normalised_text, ''))

),

wordings as (

    select
        md5(coalesce(normalised_text, '')) as request_key,
        scrubbed_text,
        count(*) as uses

    from requests
    where scrubbed_text is not null
    group by all

),

ranked_wordings as (

    select
        *,
        row_number() over (partition by request_key order by scrubbed_text) as rank_in_text

    from wordings

),

top_wording as (

    -- the theme's most frequent wording (ties: the first in text order)
    select
        request_key,
        arg_max(scrubbed_text, { 'uses': uses, 'first': -rank_in_text }) as request_text

    from ranked_wordings
    group by request_key

),

requesters as (

    select distinct
        md5(coalesce(requests.normalised_text, '')) as request_key,
        requests.customer_id

    from requests

),

theme_revenue as (

    select
        requesters.request_key,
        sum(coalesce(revenue.revenue, 0)) as customer_revenue

    from requesters
    left join revenue on requesters.customer_id = revenue.customer_id
    group by requesters.request_key

),

joined as (

    select
        themes.request_key,
        top_wording.request_text,
        themes.topics,
        themes.product_areas,
        themes.requests,
        themes.customers,
        cast(themes.votes as bigint) as votes,
        cast(coalesce(theme_revenue.customer_revenue, 0) as decimal(18, 2)) as customer_revenue,
        themes.first_requested_at,
        themes.last_requested_at

    from themes
    left join top_wording on themes.request_key = top_wording.request_key
    left join theme_revenue on themes.request_key = theme_revenue.request_key

)

select
    row_number() over (
        order by customers desc, customer_revenue desc, votes desc, requests desc, request_key asc
    ) as demand_rank,
    *

from joined
