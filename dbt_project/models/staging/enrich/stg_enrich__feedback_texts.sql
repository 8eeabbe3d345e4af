-- The enrichment of each distinct feedback text (loop/text): never the raw text, only its scrubbed form.

with

source as (

    select * from {{ source('enrich', 'feedback_texts') }}

),

renamed as (

    select
        text_sha256,
        scrubbed_text,
        pii_kinds,
        language,
        sentiment,
        sentiment_label,
        keywords,
        enricher_version,
        enriched_at

    from source

)

select * from renamed
