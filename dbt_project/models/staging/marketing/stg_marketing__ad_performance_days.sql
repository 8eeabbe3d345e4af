with

source as (

    select * from {{ source('marketing', 'ad_performance') }}
    where _partition_date <= '{{ var("as_of_date") }}'

),

renamed as (

    select
        date as performance_date,
        campaign_id,
        spend,
        currency,
        impressions,
        clicks

    from source

)

select * from renamed
