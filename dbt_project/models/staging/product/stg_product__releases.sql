with

source as (

    select * from {{ landed_as_of(source('product', 'releases')) }}

),

renamed as (

    select
        version as product_version,
        released_on,
        string_split(product_areas, ';') as product_areas,
        notes

    from source

)

select * from renamed
