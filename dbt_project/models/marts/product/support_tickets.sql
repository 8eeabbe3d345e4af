-- One row per support ticket: its help-desk status, first reply and resolution times in hours, and what it is about
-- (scrubbed text and topics), with the customer's acquisition channel.

with

tickets as (

    select * from {{ ref('int_feedback') }}
    where kind = 'ticket'

),

context as (

    select * from {{ ref('int_feedback_context') }}

)

select
    tickets.feedback_id,
    tickets.customer_id,
    tickets.submitted_at,
    tickets.product_area,
    tickets.product_version,
    tickets.channel,
    tickets.ticket_status,
    coalesce(tickets.resolved_at is not null or tickets.ticket_status in ('solved', 'closed'), false) as is_resolved,
    tickets.first_reply_at,
    tickets.resolved_at,
    round(epoch(tickets.first_reply_at - tickets.submitted_at) / 3600.0, 2) as first_reply_hours,
    round(epoch(tickets.resolved_at - tickets.submitted_at) / 3600.0, 2) as resolution_hours,
    tickets.scrubbed_text,
    tickets.sentiment_label,
    tickets.topics,
    context.acquisition_channel,
    context.prior_area_errors

from tickets
left join context on tickets.feedback_id = context.feedback_id
