with

source as (

    select * from {{ source('product', 'feedback') }}
    where _partition_date <= '{{ var("as_of_date") }}'

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
