with

source as (

    select * from {{ landed_as_of(source('marketing', 'ad_performance')) }}

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
