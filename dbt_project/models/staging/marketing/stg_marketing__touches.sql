with

source as (

    select * from {{ source('marketing', 'touches') }}
    where _partition_date <= '{{ var("as_of_date") }}'

),

renamed as (

    select
        touch_id,
        campaign_id,
        customer_id,
        channel,
        action,
        timestamp as touched_at

    from source

)

select * from renamed
