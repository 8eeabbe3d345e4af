-- One row per anonymous id that was ever seen together with a customer id (identify, or any event carrying
-- both): the customer it belongs to. The earliest pairing wins, so the map is stable as data arrives.

with

events as (

    select * from {{ ref('stg_experience__events') }}

),

pairings as (

    select
        anonymous_id,
        arg_min(customer_id, occurred_at) as customer_id

    from events
    where anonymous_id is not null and customer_id is not null
    group by anonymous_id

)

select * from pairings
