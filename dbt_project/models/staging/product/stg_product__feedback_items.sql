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
        text

    from source

)

select * from renamed
