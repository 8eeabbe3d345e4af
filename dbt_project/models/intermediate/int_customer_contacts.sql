-- The contact data of each known customer, from identify traits: the latest value sent for each field. Raw
-- personal data: it stays in the warehouse (audience exports normalize and hash it); no published mart carries it.

with

traits as (

    select * from {{ ref('int_events_sessionized') }}
    where
        stitched_customer_id is not null
        and (
            trait_email is not null or trait_phone is not null or trait_first_name is not null
            or trait_last_name is not null or trait_country is not null or trait_zip is not null
        )

)

select
    stitched_customer_id as customer_id,
    arg_max(trait_email, { 'at': occurred_at, 'id': event_id }) filter (where trait_email is not null) as email,
    arg_max(trait_phone, { 'at': occurred_at, 'id': event_id }) filter (where trait_phone is not null) as phone,
    arg_max(trait_first_name, { 'at': occurred_at, 'id': event_id })
    filter (where trait_first_name is not null) as first_name,
    arg_max(trait_last_name, { 'at': occurred_at, 'id': event_id })
    filter (where trait_last_name is not null) as last_name,
    arg_max(trait_country, { 'at': occurred_at, 'id': event_id }) filter (where trait_country is not null) as country,
    arg_max(trait_zip, { 'at': occurred_at, 'id': event_id }) filter (where trait_zip is not null) as zip

from traits
group by stitched_customer_id
