with

source as (

    select * from {{ source('product', 'releases') }}
    where _partition_date <= '{{ var("as_of_date") }}'

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
