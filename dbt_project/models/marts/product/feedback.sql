-- One row per piece of feedback (NPS, CSAT, ticket, feature request, review) in one shape, read in context: the
-- customer's acquisition, what they lived in the feedback_context_days before it, the release they were on, and
-- what the text says (scrubbed text only, with its language, sentiment, keywords and topics). The raw text is never
-- published.

with

feedback as (

    select * from {{ ref('int_feedback') }}

),

context as (

    select * from {{ ref('int_feedback_context') }}

)

select
    feedback.feedback_id,
    feedback.customer_id,
    feedback.kind,
    feedback.submitted_at,
    feedback.product_area,
    feedback.product_version,
    feedback.score,
    feedback.score_scale_min,
    feedback.score_scale_max,
    feedback.nps_category,
    feedback.channel,
    feedback.scrubbed_text,
    feedback.language,
    feedback.sentiment,
    feedback.sentiment_label,
    feedback.keywords,
    feedback.topics,
    context.acquisition_campaign_id,
    context.acquisition_channel,
    context.released_on,
    context.days_since_release,
    context.prior_sessions,
    context.prior_errors,
    context.prior_p95_latency_ms,
    context.prior_area_sessions,
    context.prior_area_errors,
    context.prior_area_p95_latency_ms

from feedback
left join context on feedback.feedback_id = context.feedback_id
