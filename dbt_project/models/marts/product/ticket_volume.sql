-- Support load per product area and week (the Monday of the business day the ticket was opened): tickets opened,
-- the customers who opened them, how many were answered and resolved, and the time to first reply and to resolution
-- (median and 90th percentile, in hours) of those that were.

with

tickets as (

    select
        product_area,
        cast(date_trunc('week', {{ business_day('submitted_at') }}) as date) as week_start,
        customer_id,
        is_resolved,
        first_reply_hours,
        resolution_hours

    from {{ ref('support_tickets') }}

)

select
    product_area,
    week_start,
    count(*) as tickets,
    count(distinct customer_id) as customers,
    count(first_reply_hours) as replied_tickets,
    count(*) filter (where is_resolved) as resolved_tickets,
    count(*) filter (where not is_resolved) as unresolved_tickets,
    round(median(first_reply_hours), 2) as median_first_reply_hours,
    round(quantile_cont(first_reply_hours, 0.9), 2) as p90_first_reply_hours,
    round(median(resolution_hours), 2) as median_resolution_hours,
    round(quantile_cont(resolution_hours, 0.9), 2) as p90_resolution_hours

from tickets
group by product_area, week_start
