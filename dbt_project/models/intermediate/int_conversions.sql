-- One row per conversion of a known (stitched) customer, the events attribution credits (conversion_credits):
--   sign_up         the customer's first Signed Up event (as int_customer_acquisition.signed_up_at), revenue 0;
--   first_purchase  the customer's first Order Completed, with that order's revenue;
--   purchase        every Order Completed, with its revenue (the first one is a first_purchase and a purchase).
-- "First" is by time, then event id. The id is the kind and the event id, stable across builds.

with

customer_events as (

    select * from {{ ref('int_events_sessionized') }}
    where
        stitched_customer_id is not null
        and event_name in ('Signed Up', 'Order Completed')

),

events as (

    select
        event_id,
        stitched_customer_id as customer_id,
        event_name,
        occurred_at,
        -- an order without a revenue property counts 0, as in the sessions' revenue
        cast(coalesce(revenue, 0) as decimal(18, 2)) as revenue,
        row_number() over (
            partition by stitched_customer_id, event_name order by occurred_at, event_id
        ) as customer_event_number

    from customer_events

),

sign_ups as (

    select
        'sign_up:' || event_id as conversion_id,
        customer_id,
        'sign_up' as conversion_kind,
        event_id,
        occurred_at as converted_at,
        cast(0 as decimal(18, 2)) as revenue

    from events
    where event_name = 'Signed Up' and customer_event_number = 1

),

first_purchases as (

    select
        'first_purchase:' || event_id as conversion_id,
        customer_id,
        'first_purchase' as conversion_kind,
        event_id,
        occurred_at as converted_at,
        revenue

    from events
    where event_name = 'Order Completed' and customer_event_number = 1

),

purchases as (

    select
        'purchase:' || event_id as conversion_id,
        customer_id,
        'purchase' as conversion_kind,
        event_id,
        occurred_at as converted_at,
        revenue

    from events
    where event_name = 'Order Completed'

)

select * from sign_ups
union all
select * from first_purchases
union all
select * from purchases
