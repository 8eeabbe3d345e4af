-- One row per known customer, across the three pillars: how marketing first reached and then acquired them, what
-- they lived on the platform (the customer_experience figures, under the same names), what they last said, and
-- their consent. Contact data (email, phone, names) is never published.
--
-- first touch: the earliest campaign contact of any kind, a session that came from a campaign or an owned touch
-- (email/push sent); acquisition: the campaign of the customer's first session (null when that session was organic),
-- so a customer first emailed and then arriving organically has a first touch and no acquisition campaign.

with

customers as (

    select * from {{ ref('customer_experience') }}

),

sessions as (

    select * from {{ ref('int_sessions') }}
    where customer_id is not null

),

first_sessions as (

    select
        customer_id,
        arg_min_null(channel, { 'at': started_at, 'id': session_id }) as acquisition_channel,
        arg_min_null(landing_path, { 'at': started_at, 'id': session_id }) as first_landing_path,
        max(ended_at) as last_seen_at

    from sessions
    group by customer_id

),

campaign_contacts as (

    select
        customer_id,
        started_at as touched_at,
        campaign_id,
        'visit' as touch_kind,
        session_id as touch_key

    from sessions
    where campaign_id is not null

    union all

    select
        customer_id,
        touched_at,
        campaign_id,
        channel || ' ' || action as touch_kind,
        touch_id as touch_key

    from {{ ref('stg_marketing__touches') }}

),

first_touches as (

    select
        customer_id,
        min(touched_at) as first_touch_at,
        arg_min(campaign_id, { 'at': touched_at, 'key': touch_key }) as first_touch_campaign_id,
        arg_min(touch_kind, { 'at': touched_at, 'key': touch_key }) as first_touch_kind

    from campaign_contacts
    group by customer_id

),

orders as (

    -- from the sessions' first and last order (every event of a session has the session's customer)
    select
        customer_id,
        min(first_order_at) as first_purchase_at,
        max(last_order_at) as last_purchase_at

    from sessions
    where purchased
    group by customer_id

),

feedback as (

    select * from {{ ref('stg_product__feedback_items') }}

),

latest_feedback as (

    select
        customer_id,
        count(*) as feedback_items,
        arg_max(kind, { 'at': submitted_at, 'id': feedback_id }) as latest_feedback_kind,
        arg_max_null(score, { 'at': submitted_at, 'id': feedback_id }) as latest_feedback_score,
        max(submitted_at) as latest_feedback_at,
        arg_max(score, { 'at': submitted_at, 'id': feedback_id }) filter (where kind = 'nps') as latest_nps_score

    from feedback
    group by customer_id

),

consent as (

    select * from {{ ref('int_customer_consent') }}

)

select
    customers.customer_id,
    first_touches.first_touch_at,
    first_touches.first_touch_campaign_id,
    first_touches.first_touch_kind,
    customers.first_seen_at,
    first_sessions.first_landing_path,
    customers.acquisition_campaign_id,
    first_sessions.acquisition_channel,
    customers.signed_up_at,
    first_sessions.last_seen_at,
    customers.sessions,
    customers.page_views,
    customers.errors,
    customers.error_sessions,
    customers.error_rate,
    customers.p95_latency_ms,
    customers.purchases,
    customers.revenue,
    orders.first_purchase_at,
    orders.last_purchase_at,
    coalesce(latest_feedback.feedback_items, 0) as feedback_items,
    latest_feedback.latest_feedback_kind,
    latest_feedback.latest_feedback_score,
    latest_feedback.latest_feedback_at,
    latest_feedback.latest_nps_score,
    coalesce(consent.advertising_consent, false) as advertising_consent,
    coalesce(consent.opted_out_of_everything, false) as opted_out_of_everything,
    consent.last_decided_at as consent_updated_at

from customers
left join first_sessions on customers.customer_id = first_sessions.customer_id
left join first_touches on customers.customer_id = first_touches.customer_id
left join orders on customers.customer_id = orders.customer_id
left join latest_feedback on customers.customer_id = latest_feedback.customer_id
left join consent on customers.customer_id = consent.customer_id
