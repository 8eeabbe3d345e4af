with

source as (

    select * from {{ landed_as_of(source('marketing', 'currency_rates')) }}

),

renamed as (

    select
        date as rate_date,
        currency,
        rate

    from source
    -- The reporting currency is worth 1 of itself, whatever a rates file says.
    where currency <> '{{ var("reporting_currency") | replace("'", "''") }}'

)

select * from renamed
