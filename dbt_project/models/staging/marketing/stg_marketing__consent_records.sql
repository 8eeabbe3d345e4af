with

source as (

    select * from {{ landed_as_of(source('marketing', 'consent')) }}

),

renamed as (

    select
        customer_id,
        lower(category) as consent_category,
        granted,
        updated_at as decided_at

    from source

)

select * from renamed
