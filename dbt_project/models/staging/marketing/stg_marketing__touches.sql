with

source as (

    select * from {{ landed_as_of(source('marketing', 'touches')) }}

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
