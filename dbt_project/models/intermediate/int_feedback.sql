-- Every piece of feedback, of every kind, in one shape: who, when, what kind about which product area and version,
-- the score with its scale, where it was given, the kind's own fields (a ticket's status and times, a feature
-- request's votes), and what its text says: only the scrubbed text (personal data replaced, loop/text) with its
-- language, sentiment, keywords and topics (seed feedback_topics). The raw text never leaves staging.

with

feedback_items as (

    select * from {{ ref('stg_product__feedback_items') }}

),

texts as (

    select * from {{ ref('stg_enrich__feedback_texts') }}

),

taxonomy as (

    -- keywords normalised as the texts are (see normalised below); a keyword of no letter or digit matches nothing
    select
        product_area,
        topic,
        ' ' || trim(regexp_replace(strip_accents(lower(keyword)), '[^\p{L}\p{N}]+', ' ', 'g')) || ' ' as padded_keyword

    from {{ ref('feedback_topics') }}
    where trim(regexp_replace(strip_accents(lower(keyword)), '[^\p{L}\p{N}]+', ' ', 'g')) != ''

),

enriched as (

    select
        feedback_items.feedback_id,
        feedback_items.customer_id,
        feedback_items.kind,
        feedback_items.submitted_at,
        {{ business_day('feedback_items.submitted_at') }} as submitted_on,
        feedback_items.product_area,
        feedback_items.product_version,
        feedback_items.score,
        case feedback_items.kind when 'nps' then 0 when 'csat' then 1 when 'review' then 1 end as score_scale_min,
        case feedback_items.kind when 'nps' then 10 when 'csat' then 5 when 'review' then 5 end as score_scale_max,
        case
            when feedback_items.kind != 'nps' then null
            when feedback_items.score >= 9 then 'promoter'
            when feedback_items.score >= 7 then 'passive'
            else 'detractor'
        end as nps_category,
        feedback_items.channel,
        feedback_items.ticket_status,
        feedback_items.first_reply_at,
        feedback_items.resolved_at,
        feedback_items.votes,
        feedback_items.text is not null as has_text,
        texts.scrubbed_text,
        texts.pii_kinds,
        texts.language,
        texts.sentiment,
        texts.sentiment_label,
        texts.keywords,
        -- the text's words, lower-cased, accents stripped, every run of non-letters and non-digits one space,
        -- padded with a space each side so a keyword matches on word boundaries only
        ' ' || trim(regexp_replace(strip_accents(lower(texts.scrubbed_text)), '[^\p{L}\p{N}]+', ' ', 'g')) || ' '
            as padded_text

    from feedback_items
    left join texts on feedback_items.text_sha256 = texts.text_sha256

),

topics as (

    -- contains() is a plain substring test: the keyword is data, never a pattern
    select
        enriched.feedback_id,
        list(distinct taxonomy.topic order by taxonomy.topic) as topics

    from enriched
    inner join taxonomy
        on
            (enriched.product_area = taxonomy.product_area or taxonomy.product_area = '*')
            and contains(enriched.padded_text, taxonomy.padded_keyword)
    group by enriched.feedback_id

)

select
    enriched.feedback_id,
    enriched.customer_id,
    enriched.kind,
    enriched.submitted_at,
    enriched.submitted_on,
    enriched.product_area,
    enriched.product_version,
    enriched.score,
    enriched.score_scale_min,
    enriched.score_scale_max,
    enriched.nps_category,
    enriched.channel,
    enriched.ticket_status,
    enriched.first_reply_at,
    enriched.resolved_at,
    enriched.votes,
    enriched.has_text,
    enriched.scrubbed_text,
    enriched.pii_kinds,
    enriched.language,
    enriched.sentiment,
    enriched.sentiment_label,
    enriched.keywords,
    coalesce(topics.topics, cast([] as varchar[])) as topics,
    -- a normalised form of the scrubbed text: feature requests worded alike share it (lower case, no accents,
    -- punctuation and spacing collapsed); null without an enriched text
    nullif(trim(enriched.padded_text), '') as normalised_text

from enriched
left join topics on enriched.feedback_id = topics.feedback_id
