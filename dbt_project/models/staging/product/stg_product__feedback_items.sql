with

source as (

    select * from {{ landed_as_of(source('product', 'feedback')) }}

),

renamed as (

    select
        feedback_id,
        kind,
        customer_id,
        submitted_at,
        product_area,
        product_version,
        score,
        text,
        -- the key of the text's enrichment (enrich.feedback_texts): DuckDB's sha256 of the text as it landed
        sha256(text) as text_sha256,
        channel,
        ticket_status,
        first_reply_at,
        resolved_at,
        votes

    from source

)

select * from renamed
